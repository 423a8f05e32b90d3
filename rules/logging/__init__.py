"""Logging and experiment-tracking rules (ML3xx)."""
