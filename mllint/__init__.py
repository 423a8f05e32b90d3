"""mllint: a linter for machine-learning code."""

__version__ = "0.1.0"

#: The project's home (source, issue tracker, rule documentation).
PROJECT_URL = "https://github.com/mllint-dev/mllint"
