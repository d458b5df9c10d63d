"""The directory prometheus_client's multiprocess mode keeps each worker's counters in.

Kept apart from ``metrics`` so that ``tenantry serve`` can set it up without importing
prometheus_client, which reads ``PROMETHEUS_MULTIPROC_DIR`` once, when it is first imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def metrics_directory(workers: int) -> Iterator[str | None]:
    """A fresh, empty directory for the workers' counters while they run, when there are several.

    One worker needs none: its counters live in its memory. A directory the operator set is
    used as given (it must be emptied between runs, as prometheus_client documents).
    """
    if workers == 1 or os.environ.get(VARIABLE):
        yield os.environ.get(VARIABLE)
        return
    directory = tempfile.mkdtemp(prefix="tenantry-metrics-")
    os.environ[VARIABLE] = directory
    try:
        yield directory
    finally:
        os.environ.pop(VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)
