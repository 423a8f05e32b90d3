"""Security and API rules (ML7xx)."""
