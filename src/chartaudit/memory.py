"""How the process uses memory: freed memory handed back to the operating system between
stages, and no transparent huge pages while a run churns through large blocks."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from functools import lru_cache

import pyarrow as pa

_PR_SET_THP_DISABLE = 41
_PR_GET_THP_DISABLE = 42


@lru_cache(maxsize=1)
def c_library():
    """The C library on Linux, or None (other systems manage these things themselves)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None (other C libraries and systems return memory themselves)."""
    try:
        trim = c_library().malloc_trim
    except AttributeError:  # no C library found, or not glibc
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


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """Run the block without transparent huge pages (Linux), then restore the setting.

    Where the kernel gives every process huge pages ("always", as on this project's benchmark
    machine), each first touch of a 2 MB region zeroes all of it. The load and the checks
    allocate and free large temporary blocks over and over (Arrow's pool hands freed blocks
    back, then takes fresh ones), and at a million notes the kernel spent about 8 s zeroing
    pages during a 9 s load; with ordinary 4 KB pages the load took 6 s. Elsewhere (the
    "madvise" default of most distributions, macOS, Windows) this does nothing."""
    libc = c_library()
    prctl = getattr(libc, "prctl", None)
    before = prctl(_PR_GET_THP_DISABLE, 0, 0, 0, 0) if prctl else -1
    changed = before == 0 and prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        if changed:
            prctl(_PR_SET_THP_DISABLE, 0, 0, 0, 0)
