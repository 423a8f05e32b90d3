"""Reproducibility rules (ML1xx): judged per program through the project index."""
