"""The language server (``mllint server``): LSP over stdio, built on pygls (extra ``lsp``).

``projects`` holds the engine side (settings per project, module summaries, open
documents, linting in memory) and knows nothing of LSP; ``edits`` turns findings into
text edits (fixes, noqa comments) and finds noqa codes under the cursor; ``server`` is
the pygls glue. Only ``server`` imports pygls, and nothing imports ``server`` except the
``mllint server`` command, so ``mllint check`` never pays for it.
"""
