"""Checkpointing rules (ML4xx)."""
