"""Which delivery loops a transaction gave work: the outbox ``queue`` functions note it on the
connection, and the endpoint wakes only those loops once the transaction committed.

A wake only saves latency: every loop also polls the database on its own timer, so mail queued
by another worker or machine (or a note lost to a crash) still leaves at the next poll.

Where this process's mail loop runs beside the request, the transaction may also lease the mail it
queues for that loop (``offer_handoff``; ``tenantry.email.outbox`` says how): the endpoint hands
the mail over once the transaction committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sqlalchemy.engine import Connection
from sqlalchemy.exc import InvalidRequestError

if TYPE_CHECKING:
    from tenantry.email.outbox import HandedMail

Outbox = Literal["mail", "sms"]

# In the connection's info dict, which lives as long as the pooled DBAPI connection: whoever
# opens the transaction takes the note (``take_queued``) whether it commits or not.
_KEY = "tenantry.queued"
_OFFER = "tenantry.handoff_lease"
_HANDED = "tenantry.handed"


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


def offer_handoff(conn: Connection, lease_seconds: float) -> None:
    """This process's mail loop takes the mail this transaction queues, leased ``lease_seconds``
    from the moment it is queued. The offer lasts until ``take_handed``."""
    conn.info[_OFFER] = lease_seconds


def handoff_lease(conn: Connection) -> float | None:
    """The lease to write on mail queued now, when a loop takes it (``offer_handoff``)."""
    lease: float | None = conn.info.get(_OFFER)
    return lease


def note_handed(conn: Connection, mail: HandedMail) -> None:
    conn.info.setdefault(_HANDED, []).append(mail)


def take_handed(conn: Connection) -> tuple[HandedMail, ...]:
    """The mail leased for this process's loop since ``offer_handoff``, and the offer withdrawn.
    Taken whether the transaction commits or not; only a committed one's is handed over."""
    try:
        conn.info.pop(_OFFER, None)
        handed: list[HandedMail] | None = conn.info.pop(_HANDED, None)
    except InvalidRequestError:  # as in take_queued
        return ()
    return tuple(handed) if handed else ()
