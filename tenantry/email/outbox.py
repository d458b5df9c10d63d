"""The durable outbox: a mail is a row written in the same transaction as the change that
caused it, so a crash can neither lose it nor send mail for a change that rolled back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.db.schema import outbox

LEASE_SECONDS = 60
MAX_ATTEMPTS = 8


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
) -> str:
    mail_id = uuid.uuid4().hex
    now = clock.now()
    conn.execute(
        outbox.insert().values(
            id=mail_id,
            project_id=project_id,
            message_id=f"<{mail_id}@{message_domain}>",
            to_address=to,
            subject=subject,
            text_body=text,
            html_body=html,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return mail_id


def claim_due(conn: Connection, clock: Clock, *, limit: int = 20) -> list[OutgoingMail]:
    """Lease due messages; a lease that lapses (worker killed mid-send) frees the message again."""
    now = clock.now()
    candidates = conn.execute(
        sa.select(outbox)
        .where(
            outbox.c.status == "queued",
            outbox.c.next_attempt_at <= now,
            sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .order_by(outbox.c.created_at)
        .limit(limit)
    ).all()
    claimed = []
    for row in candidates:
        result = conn.execute(
            outbox.update()
            .where(
                outbox.c.id == row.id,
                outbox.c.status == "queued",
                sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
            )
            .values(lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=outbox.c.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(
                OutgoingMail(
                    id=row.id,
                    project_id=row.project_id,
                    message_id=row.message_id,
                    to_address=row.to_address,
                    subject=row.subject,
                    text_body=row.text_body or "",
                    html_body=row.html_body or "",
                    created_at=row.created_at,
                    attempts=row.attempts + 1,
                )
            )
    return claimed


def mark_sent(conn: Connection, clock: Clock, mail_id: str) -> None:
    # The bodies hold live links: once delivered they have no reason to stay at rest here.
    conn.execute(
        outbox.update()
        .where(outbox.c.id == mail_id)
        .values(status="sent", sent_at=clock.now(), lease_until=None, text_body=None, html_body=None)
    )


def mark_failed(conn: Connection, clock: Clock, mail: OutgoingMail, error: str) -> None:
    now = clock.now()
    values: dict[str, Any] = {"lease_until": None, "last_error": error[:2000]}
    if mail.attempts >= MAX_ATTEMPTS:
        values["status"] = "dead"
    else:
        values["next_attempt_at"] = now + timedelta(seconds=min(2**mail.attempts, 900))
    conn.execute(outbox.update().where(outbox.c.id == mail.id).values(**values))


def status_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {status: count for status, count in rows}
