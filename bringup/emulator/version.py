"""Which reference core computed a golden: a version to bump by hand plus a hash of its source.

``SEMANTICS_VERSION`` changes whenever the result of any instruction, trap or CSR changes (a
fix, a new extension). The fingerprint adds a hash of the files that define those results, so
that an edit which forgets the bump still gives new goldens; a comment edit costs one
recomputation of the cached goldens, never a stale one.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

SEMANTICS_VERSION = 1

# The files whose code decides what a program computes (not disasm, trace, asm or the backends).
_SEMANTIC_SOURCES = ("core.py", "csr.py", "isa.py", "memory.py", "semantics.py", "translate.py")


@functools.cache
def fingerprint() -> str:
    """``"<SEMANTICS_VERSION>-<16 hex digits of the sources' sha256>"``, e.g. ``"1-3fa2..."``."""
    digest = hashlib.sha256()
    folder = Path(__file__).resolve().parent
    for name in _SEMANTIC_SOURCES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return f"{SEMANTICS_VERSION}-{digest.hexdigest()[:16]}"
