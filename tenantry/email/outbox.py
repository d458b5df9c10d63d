"""The durable outbox: a mail is a row written in the same transaction as the change that
caused it, so a crash can neither lose it nor send mail for a change that rolled back.

A delivery loop finds due mail and leases it with a write of its own (``claim``). A request
served beside a loop saves that write: its transaction leases the mail as it queues it
(``tenantry.wake.offer_handoff``), and the loop is handed the mail in memory once the transaction
committed (``HandedMail``). The lease is the one a claimed batch gets, and the loop starts a handed
mail's send only within the batch window of it, as it does a batch's later sends
(``tenantry.email.delivery``). A handed mail the loop cannot start in time is given back; a
worker that dies holding handed mail leaves the leases to lapse, and any worker then claims
them, as after a crash mid-batch.
"""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.db.schema import outbox
from tenantry.wake import handoff_lease, note_handed, note_queued

LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 900


@dataclass(frozen=True)
class OutgoingMail:
    id: str
    project_id: str
    message_id: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    created_at: datetime
    attempts: int
    # The project's sender at queue time; each None part comes from TENANTRY_MAIL_FROM.
    from_name: str | None = None
    from_address: str | None = None


@dataclass(frozen=True)
class HandedMail:
    """A mail its queueing transaction leased for this process's delivery loop."""

    mail: OutgoingMail
    leased_at: float  # time.monotonic() at or before the lease's start


@dataclass(frozen=True)
class DeadLetter:
    id: str
    project_id: str
    message_id: str
    to_address: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime


# Built once with bound parameters: building a statement (and its cache key) per call cost more
# than SQLite takes to run it; every mail is queued, claimed and marked sent with these.
_INSERT = outbox.insert()
_FREE = sa.or_(
    outbox.c.lease_until.is_(None), outbox.c.lease_until < sa.bindparam("now", type_=outbox.c.lease_until.type)
)
_DUE = sa.and_(
    outbox.c.status == "queued",
    outbox.c.next_attempt_at <= sa.bindparam("now", type_=outbox.c.next_attempt_at.type),
    _FREE,
)
_ANY_DUE = sa.select(outbox.c.id).where(_DUE).limit(1)
# The ids to lease, oldest first. On PostgreSQL the rows stay locked until the claim commits and
# another worker's claim skips them (it takes the next due mails instead of waiting for these);
# SQLite writes one transaction at a time, and its dialect leaves FOR UPDATE out.
_CLAIMABLE = (
    sa.select(outbox.c.id)
    .where(_DUE)
    .order_by(outbox.c.next_attempt_at, outbox.c.created_at)
    .limit(sa.bindparam("p_limit", type_=sa.Integer))
    .with_for_update(skip_locked=True)
)
# Still due and free when leased (the row count decides, as for any claim), read back at once.
_LEASE = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("p_ids", expanding=True)), _DUE)
    .values(lease_until=sa.bindparam("p_lease_until", type_=outbox.c.lease_until.type), attempts=outbox.c.attempts + 1)
    .returning(*outbox.c)
)
_SENT = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("p_ids", expanding=True)))
    .values(
        status="sent",
        sent_at=sa.bindparam("p_now", type_=outbox.c.sent_at.type),
        lease_until=None,
        text_body=None,
        html_body=None,
    )
)
# Leased but never tried (the batch stopped before them): free again, and the claim's attempt
# given back, since no send was made.
_RELEASE = (
    outbox.update()
    .where(outbox.c.id.in_(sa.bindparam("p_ids", expanding=True)), outbox.c.status == "queued")
    .values(lease_until=None, attempts=outbox.c.attempts - 1)
)


@functools.cache  # one sender domain per deployment, asked for every queued mail
def _ascii_domain(domain: str) -> str:
    # Headers on the wire are ASCII: an internationalised sender domain goes in its IDNA form.
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "tenantry.localhost"


def queue(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_domain: str,
    from_name: str | None = None,
    from_address: str | None = None,
) -> str:
    mail_id = uuid.uuid4().hex
    leased_at = time.monotonic()  # before the lease's start: the loop's window is counted from it
    now = clock.now()
    domain = _ascii_domain(message_domain)
    lease = handoff_lease(conn)
    mail = OutgoingMail(
        id=mail_id,
        project_id=project_id,
        message_id=f"<{mail_id}@{domain}>",
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        created_at=now,
        # A lease written here is this worker's claim: its attempt counts, as a claim's does.
        attempts=0 if lease is None else 1,
        from_name=from_name,
        from_address=from_address,
    )
    conn.execute(
        _INSERT,
        # The mail's fields are outbox columns of the same names (``vars``, not ``asdict``, which
        # deep-copies every value: 20 µs a mail).
        vars(mail)
        | {
            "status": "queued",
            "lease_until": None if lease is None else now + timedelta(seconds=lease),
            "next_attempt_at": now,
        },
    )
    note_queued(conn, "mail")
    if lease is not None:
        note_handed(conn, HandedMail(mail, leased_at))
    return mail_id


def any_due(conn: Connection, clock: Clock) -> bool:
    """Whether some mail waits to be claimed (a read: no lock taken)."""
    return conn.execute(_ANY_DUE, {"now": clock.now()}).first() is not None


def claim(
    conn: Connection,
    clock: Clock,
    *,
    limit: int = 1,
    lease_seconds: float = LEASE_SECONDS,
    batch_extra_seconds: float = 0.0,
) -> list[OutgoingMail]:
    """Lease up to ``limit`` due mails, oldest first, under one lease; a lease that lapses (worker
    killed mid-send) frees its mails again. One mail is held ``lease_seconds``; two or more are
    held ``batch_extra_seconds`` longer, the time the sender gives itself to start the later sends
    of the batch (tenantry.email.delivery says why)."""
    now = clock.now()
    ids = conn.execute(_CLAIMABLE, {"now": now, "p_limit": limit}).scalars().all()
    if not ids:
        return []
    seconds = lease_seconds + (batch_extra_seconds if len(ids) > 1 else 0.0)
    rows = conn.execute(_LEASE, {"p_ids": ids, "now": now, "p_lease_until": now + timedelta(seconds=seconds)}).all()
    rows.sort(key=lambda row: (row.next_attempt_at, row.created_at))
    return [
        OutgoingMail(
            id=row.id,
            project_id=row.project_id,
            message_id=row.message_id,
            to_address=row.to_address,
            subject=row.subject,
            text_body=row.text_body or "",
            html_body=row.html_body or "",
            created_at=row.created_at,
            attempts=row.attempts,  # this claim's, counted by the lease
            from_name=row.from_name,
            from_address=row.from_address,
        )
        for row in rows
    ]


def mark_sent(conn: Connection, clock: Clock, mail_ids: list[str]) -> None:
    # The bodies hold live links: once delivered they have no reason to stay at rest here.
    if mail_ids:
        conn.execute(_SENT, {"p_ids": mail_ids, "p_now": clock.now()})


def release(conn: Connection, mail_ids: list[str]) -> None:
    """Give back leased mails that were not tried, for the next claim (by any worker)."""
    if mail_ids:
        conn.execute(_RELEASE, {"p_ids": mail_ids})


def mark_failed(
    conn: Connection, clock: Clock, mail: OutgoingMail, error: str, *, max_attempts: int = MAX_ATTEMPTS
) -> bool:
    """Schedule a retry (2, 4, 8 … seconds, at most 15 minutes apart) or, after ``max_attempts``,
    mark the mail dead. Returns True when it is dead."""
    now = clock.now()
    values: dict[str, Any] = {"lease_until": None, "last_error": error[:2000]}
    dead = mail.attempts >= max_attempts
    if dead:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=min(2**mail.attempts, MAX_BACKOFF_SECONDS))
    conn.execute(outbox.update().where(outbox.c.id == mail.id, outbox.c.status == "queued").values(**values))
    return dead


def status_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {status: count for status, count in rows}


def dead_letters(conn: Connection, *, project_id: str | None = None, limit: int = 50) -> list[DeadLetter]:
    """The newest mails given up on, for the operator (``tenantry mail status``, dev mailbox)."""
    query = sa.select(outbox).where(outbox.c.status == "dead")
    if project_id is not None:
        query = query.where(outbox.c.project_id == project_id)
    rows = conn.execute(query.order_by(outbox.c.created_at.desc()).limit(limit))
    return [
        DeadLetter(
            id=r.id,
            project_id=r.project_id,
            message_id=r.message_id,
            to_address=r.to_address,
            subject=r.subject,
            attempts=r.attempts,
            last_error=r.last_error or "",
            created_at=r.created_at,
        )
        for r in rows
    ]


def requeue_dead(conn: Connection, clock: Clock, mail_id: str | None = None) -> int:
    """Give dead mail (one, or all) a fresh set of attempts; it keeps its Message-ID."""
    query = outbox.update().where(outbox.c.status == "dead")
    if mail_id is not None:
        query = query.where(outbox.c.id == mail_id)
    result = conn.execute(query.values(status="queued", attempts=0, next_attempt_at=clock.now(), lease_until=None))
    return result.rowcount
