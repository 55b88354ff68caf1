"""Memory an outflow computation reuses instead of faulting in afresh (glibc's malloc; elsewhere a no-op).

A run over 10 M transfers allocates a few GB of arrays over its life (the decoded
columns, the sort's keys and orders, the sweep's results), each larger than glibc's
mmap threshold. By default each comes from a fresh mmap, and every page of it is
zeroed and mapped at its first touch: measured at 0.8-2.2 s per GB on this machine
(a virtual machine; a fifth of the run's CPU was the kernel zeroing pages), and
again for an array allocated right after another of its size was freed.

Inside `reused_memory()` large blocks come from the heap (M_MMAP_MAX 0) and freed
ones stay mapped (M_TRIM_THRESHOLD), so a later array reuses pages already touched.
On leaving, glibc's static defaults come back and malloc_trim(0) hands the free
memory back to the system: a worker does not keep the run's peak between runs.
Only glibc's public mallopt(3) and malloc_trim(3); settings.OUTFLOW_REUSE_MEMORY
turns it off (the figures are the same either way, tested). Measured in
bench/README_outflows.md (the section "Issue 17: ... after reusing memory").
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import threading

from django.conf import settings

M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_MAX = -4
DEFAULT_TRIM_THRESHOLD = 128 * 1024  # glibc's defaults (mallopt(3))
DEFAULT_MMAP_MAX = 65536
KEEP_FREED = 2**31 - 1  # mallopt's int at most (2 GB): a trim threshold the top of the heap never reaches

_lock = threading.Lock()
_depth = 0


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has malloc_trim), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def _keep_freed(libc: ctypes.CDLL, keep: bool) -> None:
    libc.mallopt(M_MMAP_MAX, 0 if keep else DEFAULT_MMAP_MAX)
    libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED if keep else DEFAULT_TRIM_THRESHOLD)


@contextlib.contextmanager
def reused_memory():
    """Within: large arrays come from the heap and freed ones are reused. Nested and threaded uses count."""
    global _depth
    libc = _glibc() if settings.OUTFLOW_REUSE_MEMORY else None
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _keep_freed(libc, True)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _keep_freed(libc, False)
                libc.malloc_trim(0)
