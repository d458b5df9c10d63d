"""Shorter pauses of Python's cycle collector in a serving worker.

A full collection walks every object the collector tracks. A worker holds ~170k of them once it
has started (modules, classes, SQLAlchemy tables and compiled statements, templates), nearly all
kept until it exits, and a full collection of them took 80-120 ms on the benchmark machine. One
came during a 10-second paced onboarding run (1 worker, ~250 requests/s) and held up every
request in flight: the run's p99. Frozen once the worker has started (``gc.freeze``), those
objects are left out of every collection; the full collections seen afterwards walked 3k-8k
objects in 2-5 ms. Cycles among the frozen objects are never collected, which costs nothing for
objects that live as long as the process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def start_up_objects_frozen() -> Iterator[None]:
    """Freeze what is alive now (after collecting what is not) until the block ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        # Several apps can live in one process (tests): what they leave becomes collectable again.
        gc.unfreeze()
