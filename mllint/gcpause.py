"""Pausing Python's cyclic garbage collector around allocation-heavy work.

Parsing, value flow and loading cached results allocate tens of thousands of objects and
create no reference cycles worth collecting meanwhile; each allocation still counts towards
a collection that traverses every live object (syntax trees, loaded summaries). Pausing
the collector around such work saves 5-80% of it; it runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body (or, as ``@gc_paused()``, the decorated function) with the cyclic
    collector disabled; it is enabled again afterwards only if it was enabled before."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
