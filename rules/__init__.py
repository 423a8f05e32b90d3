"""mllint's built-in rule pack, one module per rule, grouped by category folder.

Installed as ``mllint.rules``; it uses only the public rule API (``mllint.rule``,
``mllint.analysis``, ``mllint.diagnostic``, ``mllint.context``), as a plugin would.
"""
