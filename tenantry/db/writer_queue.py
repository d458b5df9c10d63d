"""Writers of one SQLite file queue on a lock, in this process and across processes.

SQLite has one writer. A writer that finds it taken waits in SQLite's busy handler, which sleeps
1, 2, 5, 10 … up to 100 ms between tries while the lock is long free again: with two workers
that sleep was the p99 of a request that writes. So before ``BEGIN IMMEDIATE`` a writer queues
first on a lock of its own process (threads of one process never reach the file lock together)
and then on an exclusive ``flock`` of a file beside the database (``<database>-writer.lock``),
which the kernel hands on the moment its holder lets go. SQLite's lock still decides; this one
only makes the wait cheap, so a writer that does not take it (migrations, ``ANALYZE``, another
program) is merely slower to get in, never unsafe.

Why ``flock`` and not ``fcntl``/``lockf`` record locks: those belong to the process, so two
engines of one process on the same file would not exclude each other, and closing any
descriptor of the file drops them. ``flock`` belongs to the open file description: one per
engine, opened once and kept, and released by the kernel if the process dies. The lock file is
never deleted: unlinking a lock file that others may have opened lets two holders in at once.

Where ``fcntl`` is missing (Windows, which Tenantry does not target) writers of different
processes meet in SQLite's busy handler as before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from types import TracebackType

import sqlalchemy as sa

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# A waiter thread that has had nothing to do for this long ends; the next contended write starts
# another. Engines come and go (tests, CLI commands); a thread each for ever would not.
WAITER_IDLE_SECONDS = 30.0


def lock_path(database: str) -> str:
    return os.path.abspath(database) + "-writer.lock"


def busy_error() -> sa.exc.OperationalError:
    """What ``BEGIN IMMEDIATE`` raises when SQLite's busy timeout runs out, so a writer that gave
    up queueing fails the same way (503 in the API, an outage note in the delivery loops)."""
    orig = sqlite3.OperationalError("database is locked")
    orig.sqlite_errorcode = sqlite3.SQLITE_BUSY
    orig.sqlite_errorname = "SQLITE_BUSY"
    return sa.exc.OperationalError("BEGIN IMMEDIATE", None, orig)


class WriterQueue:
    """``with queue:`` waits for this process's lock, then (outermost entry only) for the file
    lock; both within ``timeout`` seconds of entering, as SQLite's busy timeout bounds its own
    wait, else ``busy_error()``. ``path`` None: the in-process lock only (``:memory:``, no fcntl).
    """

    def __init__(self, path: str | None, timeout: float) -> None:
        self.timeout = timeout
        # Reentrant, as the plain RLock it replaces was; only the outermost entry takes the file
        # lock (re-taking a flock we hold succeeds, and the inner exit would drop it).
        self._threads = threading.RLock()
        self._depth = 0
        self._file = _FileLock(path) if path is not None and fcntl is not None else None

    def __enter__(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise busy_error()
        try:
            if self._depth == 0 and self._file is not None:
                self._file.acquire(deadline)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._file is not None:
                self._file.release()
        finally:
            self._threads.release()


class _FileLock:
    """An exclusive ``flock`` with a timeout, for one caller at a time (the WriterQueue's).

    ``flock`` either fails at once (``LOCK_NB``) or blocks without a timeout; polling with
    ``LOCK_NB`` would bring back the sleeps this is here to remove, and a signal cannot cut the
    blocking call short outside the main thread. So an uncontended lock is taken with ``LOCK_NB``
    by the caller, and a contended one by a waiter thread that blocks in ``flock`` and hands the
    lock over; the caller waits for that with a timeout (a condition variable: woken at once).
    A caller that times out leaves the waiter blocked: the next caller waits for the same grant,
    and a grant nobody waits for any more is let go at once, so other processes are not held up.
    The price against a plain blocking ``flock`` (no timeout) is one more thread to wake per
    contended wait: measured, 0.05 against 0.02 ms median from release to entry with the GIL
    free; with a thread spinning on the GIL both cost switch intervals (5 ms each).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._close: weakref.finalize[[int], None] | None = None

    def _reset(self) -> None:
        # After a fork the child must not share the parent's open file description (the lock
        # would be one lock for both) nor its waiter thread (not copied) or mutex (maybe held).
        if self._close is not None:
            self._close()  # the parent's lock stays: its own descriptor still refers to it
        self._pid = os.getpid()
        self._fd = _open(self.path)
        # Engines come and go (tests make hundreds): the descriptor goes with its engine.
        self._close = weakref.finalize(self, os.close, self._fd) if self._fd >= 0 else None
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._wanted = False  # the waiter is asked to take the lock, or blocks taking it
        self._granted = False  # the waiter holds the lock for a caller that has not taken it yet
        self._callers = 0  # callers waiting for a grant
        self._waiter: threading.Thread | None = None

    def acquire(self, deadline: float) -> None:
        if self._pid != os.getpid():
            self._reset()
        if self._fd < 0:
            return
        with self._mutex:
            if not self._wanted:  # else the waiter is blocked in flock on our descriptor
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
                self._wanted = True
                if self._waiter is None:
                    self._waiter = threading.Thread(target=self._wait, name="sqlite-writer-queue", daemon=True)
                    self._waiter.start()
                self._changed.notify_all()
            self._callers += 1
            try:
                if not self._changed.wait_for(lambda: self._granted, timeout=deadline - time.monotonic()):
                    raise busy_error()
            finally:
                self._callers -= 1
            self._granted = self._wanted = False

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _wait(self) -> None:
        while True:
            with self._mutex:
                if not self._changed.wait_for(lambda: self._wanted and not self._granted, WAITER_IDLE_SECONDS):
                    self._waiter = None
                    return
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # no Python runs (nor GIL held) while it blocks
            with self._mutex:
                if self._callers:
                    self._granted = True
                    self._changed.notify_all()
                else:  # its caller gave up
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    self._wanted = False


def _open(path: str) -> int:
    """The lock file's descriptor, or -1 (then writers meet in SQLite's busy handler only).
    Read-only is enough for ``flock``, for a file another user created."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags, 0o644)
        except OSError as exc:
            error = exc
    log.warning("SQLite writers of different processes will not queue: %s: %s", path, error.strerror)
    return -1
