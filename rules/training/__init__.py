"""Training-loop rules (ML5xx)."""
