"""Evaluation correctness rules (ML6xx)."""
