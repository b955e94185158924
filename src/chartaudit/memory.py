"""Hand memory the process has freed back to the operating system between stages."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache

import pyarrow as pa


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None (other C libraries and systems return memory themselves)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> None:
    """Return freed memory to the system: Arrow's pool keeps it for reuse, and glibc keeps the
    freed middle of its heaps (one per thread that allocated). A stage's temporary arrays would
    otherwise stay resident through every later stage (about 1 GB at a million notes)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
