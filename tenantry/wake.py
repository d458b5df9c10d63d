"""Which delivery loops a transaction gave work: the outbox ``queue`` functions note it on the
connection, and the endpoint wakes only those loops once the transaction committed.

A wake only saves latency: every loop also polls the database on its own timer, so mail queued
by another worker or machine (or a note lost to a crash) still leaves at the next poll.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import Connection
from sqlalchemy.exc import InvalidRequestError

Outbox = Literal["mail", "sms"]

# In the connection's info dict, which lives as long as the pooled DBAPI connection: whoever
# opens the transaction takes the note (``take_queued``) whether it commits or not.
_KEY = "tenantry.queued"


def note_queued(conn: Connection, outbox: Outbox) -> None:
    """This transaction queued work for ``outbox``'s delivery loop."""
    conn.info.setdefault(_KEY, set()).add(outbox)


def take_queued(conn: Connection) -> frozenset[Outbox]:
    """The outboxes noted on ``conn`` since the last take, and forget them.

    A connection the database dropped mid-transaction has no info to read (SQLAlchemy refuses
    until the rollback): nothing was committed, and the pool discards it with its note. Raising
    here would replace the outage's OperationalError (a 503) with a 500."""
    try:
        noted: set[Outbox] | None = conn.info.pop(_KEY, None)
    except InvalidRequestError:
        return frozenset()
    return frozenset(noted) if noted else frozenset()
