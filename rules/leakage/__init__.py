"""Data-leakage rules (ML2xx), all answered by one value-flow analysis per file
(:mod:`mllint.analysis.dataflow`, judged in :mod:`mllint.analysis.leakage`)."""
