"""Project checks (ML9xx): the files around the code (data, documentation, dependencies)."""
