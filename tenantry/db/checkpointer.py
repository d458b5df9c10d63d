"""WAL checkpoints on a thread of their own, off the request path (SQLite files).

In WAL mode a commit appends the pages it changed to the log. Once the log holds
``wal_autocheckpoint`` pages (1000 by default), the commit that crossed the mark copies the log
back into the database file and syncs both files before it returns. On the onboarding benchmark
(1 worker) that was one commit in about five journeys, with two ``fsync`` calls of 3-6 ms each
(under strace), while the worker's one database thread and every writer of the file (they queue:
``writer_queue``) waited.

So each serving worker checkpoints on this thread every ``INTERVAL_SECONDS`` instead, with
``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no reader and no writer, and SQLite lets go of
the GIL while it copies and syncs. The request engine's connections checkpoint themselves only
past ``BACKSTOP_PAGES`` (``wal_autocheckpoint``), should this thread ever fall that far behind.
Several workers' checkpointers take turns (SQLite runs one checkpoint at a time and answers the
others "busy" at once). Commands and migrations keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from tenantry.db.outage import OutageLog
from tenantry.db.urls import sqlite_file

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.25
# Ten times SQLite's default: reached only if the checkpointer stopped keeping up.
BACKSTOP_PAGES = 10_000


class Checkpoint(NamedTuple):
    """What ``PRAGMA wal_checkpoint`` answered."""

    busy: bool  # another checkpoint was running
    log_frames: int  # frames in the log
    checkpointed_frames: int  # of which now in the database file


def checkpoint(conn: sqlite3.Connection) -> Checkpoint:
    busy, log_frames, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return Checkpoint(bool(busy), log_frames, checkpointed)


class WalCheckpointer:
    def __init__(self, database: str, *, interval: float = INTERVAL_SECONDS) -> None:
        self.database = database
        self.interval = interval
        self.last: Checkpoint | None = None  # the latest pass's answer
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage = OutageLog(log, "WAL checkpoints")

    @classmethod
    def for_url(cls, url: str) -> WalCheckpointer | None:
        database = sqlite_file(url)
        return cls(database) if database else None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="tenantry-wal-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopping.wait(self.interval):
                try:
                    if conn is None:
                        conn = self._connect()
                        # The checkpointing connection's setting decides how a checkpoint syncs.
                        conn.execute("PRAGMA synchronous=NORMAL")
                    self.last = checkpoint(conn)
                    if self.last.log_frames < 0:
                        # The file was not in WAL mode yet when this connection first read it (it
                        # was being created): such a connection never checkpoints. A new one will.
                        conn.close()
                        conn = None
                except sqlite3.Error as exc:
                    # A file that went away or a full disk: say so once, retry on a new connection.
                    self._outage.failed(exc)
                    if conn is not None:
                        conn.close()
                    conn = None
                else:
                    self._outage.succeeded()
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never create the file (the worker's migrations do, at start-up).
        uri = Path(self.database).resolve().as_uri() + "?mode=rw"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
