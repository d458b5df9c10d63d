"""The durable SMS outbox: a text message is a row written in the same transaction as the code
it carries, so a crash can neither lose it nor send a code that was rolled back.

queued --claim (lease)--> sending --ok--> sent (body erased)
   ^                        |
   +--- failed, retryable --+--- permanent refusal or MAX_ATTEMPTS --> dead (body erased)

The body holds a live passcode, so it is stored sealed (AES-GCM, ``tenantry.mfa.vault``, bound
to the recipient) and erased once the message has left or will never leave.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry.clock import Clock, as_utc
from tenantry.db.schema import sms_outbox
from tenantry.wake import note_queued

LEASE_SECONDS = 60
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 900


@dataclass(frozen=True)
class OutgoingSms:
    id: str
    project_id: str
    to_number: str
    sealed_body: str
    created_at: datetime
    attempts: int


def seal_context(to_number: str) -> str:
    # Bound into the ciphertext: a sealed body moved onto another recipient's row does not open.
    return f"sms-outbox:{to_number}"


def queue(conn: Connection, clock: Clock, *, project_id: str, to_number: str, sealed_body: str) -> str:
    sms_id = uuid.uuid4().hex
    now = clock.now()
    conn.execute(
        sms_outbox.insert().values(
            id=sms_id,
            project_id=project_id,
            to_number=to_number,
            body_sealed=sealed_body,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    note_queued(conn, "sms")
    return sms_id


# Built once with a bound parameter: the delivery loop asks it on every pass.
_ANY_DUE = (
    sa.select(sms_outbox.c.id)
    .where(
        sms_outbox.c.status == "queued",
        sms_outbox.c.next_attempt_at <= sa.bindparam("now", type_=sms_outbox.c.next_attempt_at.type),
        sa.or_(
            sms_outbox.c.lease_until.is_(None),
            sms_outbox.c.lease_until < sa.bindparam("now", type_=sms_outbox.c.lease_until.type),
        ),
    )
    .limit(1)
)


def any_due(conn: Connection, clock: Clock) -> bool:
    """Whether some text waits to be claimed (a read: no lock taken)."""
    return conn.execute(_ANY_DUE, {"now": clock.now()}).first() is not None


def claim_due(conn: Connection, clock: Clock, *, limit: int = 20) -> list[OutgoingSms]:
    """Lease due messages; a lease that lapses (worker killed mid-send) frees the message again."""
    now = clock.now()
    free = sa.or_(sms_outbox.c.lease_until.is_(None), sms_outbox.c.lease_until < now)
    candidates = conn.execute(
        sa.select(sms_outbox)
        .where(sms_outbox.c.status == "queued", sms_outbox.c.next_attempt_at <= now, free)
        .order_by(sms_outbox.c.created_at)
        .limit(limit)
    ).all()
    claimed = []
    for row in candidates:
        # Another worker may have leased the row since the SELECT: the row count decides.
        result = conn.execute(
            sms_outbox.update()
            .where(sms_outbox.c.id == row.id, sms_outbox.c.status == "queued", free)
            .values(lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=sms_outbox.c.attempts + 1)
        )
        if result.rowcount != 1:
            continue
        if row.body_sealed is None:
            # Nothing left to send (the body is gone): retrying could never succeed.
            conn.execute(sms_outbox.update().where(sms_outbox.c.id == row.id).values(status="dead", lease_until=None))
            continue
        claimed.append(
            OutgoingSms(
                id=row.id,
                project_id=row.project_id,
                to_number=row.to_number,
                sealed_body=row.body_sealed,
                created_at=as_utc(row.created_at),
                attempts=row.attempts + 1,
            )
        )
    return claimed


def mark_sent(conn: Connection, clock: Clock, sms_id: str, provider_message_id: str | None) -> None:
    conn.execute(
        sms_outbox.update()
        .where(sms_outbox.c.id == sms_id)
        .values(
            status="sent",
            sent_at=clock.now(),
            lease_until=None,
            body_sealed=None,
            provider_message_id=provider_message_id,
            last_error=None,
        )
    )


def mark_failed(conn: Connection, clock: Clock, sms: OutgoingSms, error: str, *, permanent: bool) -> None:
    """Retry with exponential backoff, or give up: after MAX_ATTEMPTS, or at once when the
    provider refused the message itself (a retry would be refused the same way)."""
    now = clock.now()
    values: dict[str, Any] = {"lease_until": None, "last_error": error[:2000]}
    if permanent or sms.attempts >= MAX_ATTEMPTS:
        values.update(status="dead", body_sealed=None)
    else:
        values["next_attempt_at"] = now + timedelta(seconds=min(2**sms.attempts, MAX_BACKOFF_SECONDS))
    conn.execute(sms_outbox.update().where(sms_outbox.c.id == sms.id).values(**values))


def status_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(sms_outbox.c.status, sa.func.count()).group_by(sms_outbox.c.status))
    return {status: count for status, count in rows}


@dataclass(frozen=True)
class DeadSms:
    id: str
    project_id: str
    to_number: str
    attempts: int
    last_error: str
    created_at: datetime


def dead_letters(conn: Connection, *, limit: int = 50) -> list[DeadSms]:
    """Texts given up on, newest first, with the provider's last complaint (never the body)."""
    rows = conn.execute(
        sa.select(sms_outbox).where(sms_outbox.c.status == "dead").order_by(sms_outbox.c.created_at.desc()).limit(limit)
    )
    return [
        DeadSms(r.id, r.project_id, r.to_number, r.attempts, r.last_error or "", as_utc(r.created_at)) for r in rows
    ]
