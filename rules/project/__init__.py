"""Project checks (ML9xx): hygiene of the repository around the code."""
