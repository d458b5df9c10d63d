"""A serving process's heap: fewer malloc arenas, so less memory that is resident but unused.

glibc gives threads that allocate at the same time arenas of their own, up to eight per core, and
memory freed in one arena is reused only by allocations in that arena. A worker's database threads,
event loop and delivery loops each grew one: on the growth benchmark (1M members) a worker held
152 MiB, 140 MiB with two arenas (``bench/README.md``). Python's own allocator takes small objects
under the GIL either way, so the threads barely contend for the two.
"""

from __future__ import annotations

import ctypes
import os

ARENAS = 2
_M_ARENA_MAX = -8  # from glibc's <malloc.h>


def limit_malloc_arenas() -> bool:
    """At most ``ARENAS`` arenas in this process and in the worker processes it starts; whether
    this process's allocator took the limit. An explicit ``MALLOC_ARENA_MAX`` is left alone:
    glibc read it at start-up."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(ARENAS)  # for workers: glibc reads it when they start
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (macOS has no mallopt)
    return bool(mallopt(_M_ARENA_MAX, ARENAS))
