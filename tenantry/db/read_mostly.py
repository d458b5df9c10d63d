"""Read-mostly requests: run in a read transaction, and in a write transaction only when a write is due.

A handler declared read-mostly (``api(..., read_mostly=True)``) first runs in a read
transaction with ``Call.writable`` False. When it finds that it must write (for
``sessions.authenticate``: the access time is due to be recorded, or the session is extended),
it raises ``WriteNeeded`` before writing anything; the endpoint then runs the handler again,
from the start, in a write transaction of its own. The two transactions follow each other, never
nest (a nested one would hold two pool connections, and on SQLite wait on its own reader), and
the second re-reads everything, so nothing decided in the first can be stale.

The cost: a request that does write reads twice. On SQLite the gain is that reads run in
parallel in WAL mode while writers of all workers queue on one lock; and the read attempt runs on
the event loop itself, not in the thread pool (``tenantry.db.engine.create_loop_reader``).
"""

from __future__ import annotations


class WriteNeeded(Exception):
    """Raised in a read transaction by a handler that must write: run me again, writable."""
