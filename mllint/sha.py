"""``sha256`` without importing ``hashlib``: the same digests, from CPython's own SHA-2
module. ``hashlib`` loads OpenSSL (~4 ms of a one-file run); for the short texts hashed
on that path (summary structures, finding fingerprints) its speed makes no difference.
Large inputs (the result cache's file contents) keep ``hashlib.sha256``."""

from __future__ import annotations

try:
    from _sha2 import sha256  # CPython 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:  # another Python
        from hashlib import sha256

__all__ = ["sha256"]
