"""``python -m mllint``."""

import os
import sys

# `python -m` puts the current directory first on sys.path, so a project file named like a
# module that mllint imports later (json.py, tokenize.py, logging.py) would be imported, and
# run, by `python -m mllint check` in that project. mllint never runs the code it checks:
# the directory goes, as Python 3.11's `-P` would do (the `mllint` script never adds it).
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from mllint.cli import console_entry

sys.exit(console_entry())
