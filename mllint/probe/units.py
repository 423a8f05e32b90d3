"""Byte sizes: parsing `24GiB`/`16GB`, printing them, and the allocator's 512-byte rounding."""

from __future__ import annotations

import re

KiB = 1024
MiB = 1024**2
GiB = 1024**3

# c10/cuda/CUDACachingAllocator.cpp: kMinBlockSize = 512, "all sizes are rounded to at least
# 512 bytes". The CPU trace rounds every storage the same way.
MIN_BLOCK = 512

_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": KiB,
    "mib": MiB,
    "gib": GiB,
    "tib": 1024**4,
    "k": KiB,
    "m": MiB,
    "g": GiB,
}

_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def round_alloc(nbytes: int) -> int:
    """Round a request up to the allocator's 512-byte block granularity."""
    if nbytes <= 0:
        return 0
    return ((nbytes + MIN_BLOCK - 1) // MIN_BLOCK) * MIN_BLOCK


def parse_size(text: str) -> int:
    """Parse `24GiB`, `16GB`, `16 gb`, `80G` (binary), `1024MiB` into bytes.

    Decimal units (GB) are powers of 1000 and binary units (GiB, or a bare G) powers of 1024,
    as GPU vendors print decimal GB on boxes while tools print binary sizes.
    """
    m = _SIZE_RE.match(text or "")
    if not m:
        raise ValueError(f"not a size: {text!r}")
    number, unit = float(m.group(1)), (m.group(2) or "b").lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit {m.group(2)!r} in {text!r}")
    return round(number * _UNITS[unit])


def fmt_bytes(nbytes: float | int | None) -> str:
    """Human-readable binary size: `1.50 GiB`, `12.0 MiB`."""
    if nbytes is None:
        return "-"
    sign = "-" if nbytes < 0 else ""
    n = abs(float(nbytes))
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{sign}{n / size:.2f} {unit}"
    return f"{sign}{int(n)} B"
