"""The connection read-mostly requests read through on the event loop (SQLite files only;
``tenantry.db.engine.create_loop_reader`` says why reading there pays)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

# A kept connection misses what a pool checkout does for the others: reloading the planner
# statistics after a refresh (tenantry.db.statistics). Reopening it this often keeps it as
# current as a pooled connection that is checked out once a minute.
RECYCLE_SECONDS = 60.0


class LoopReader:
    """One autocommit connection, kept open between requests.

    Only the event loop's thread uses it, one request at a time (handlers on the loop are
    synchronous), so it needs no pool: checking a connection out of a pool and back in, with its
    events and reset, cost a sixth of a ``sessions.authenticate``. Each statement reads its own
    snapshot, so keeping it open holds no snapshot between requests.
    """

    def __init__(self, engine: Engine, *, recycle_seconds: float = RECYCLE_SECONDS) -> None:
        self.engine = engine
        self.recycle_seconds = recycle_seconds
        self._conn: Connection | None = None
        self._opened_at = 0.0

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        conn = self._conn
        if conn is None or time.monotonic() - self._opened_at >= self.recycle_seconds:
            self.close()
            conn = self._conn = self.engine.connect()
            self._opened_at = time.monotonic()
        try:
            yield conn
        except DBAPIError:
            # SQLite refused it: the next request gets a new connection rather than trust this one.
            conn.invalidate()
            self.close()
            raise
        finally:
            if self._conn is conn:
                # Ends SQLAlchemy's bookkeeping transaction; in autocommit SQLite has none to end.
                conn.rollback()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def dispose(self) -> None:
        self.close()
        self.engine.dispose()
