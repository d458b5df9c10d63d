"""Appending to the audit log (``record``), serialised across workers and machines.

Every append locks the one-row chain head in the same transaction that inserts the event: on
PostgreSQL with ``SELECT ... FOR UPDATE``, on SQLite by taking the write lock up front
(``BEGIN IMMEDIATE``, ``write_transaction``). Two appends can therefore never read the same head
and fork the chain; the second waits for the first to commit and links to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import write_transaction
from tenantry.db.schema import portal_audit_events, portal_audit_head
from tenantry.portal.audit.chain import canonical_details, event_hash

ACTIONS = frozenset(
    {
        "clinic.created",
        "member.invited",
        "invitation.resent",
        "invitation.revoked",
        "invitation.accepted",
        "member.role_changed",
        "member.removed",
        "session.signed_out_everywhere",
    }
)


def record(
    engine: Engine,
    *,
    organization_id: str,
    actor_member_id: str | None,
    actor_email: str | None,
    action: str,
    target_member_id: str | None = None,
    target_email: str | None = None,
    details: Mapping[str, Any] | None = None,
    session_id: str | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event. Unknown actions are a programming error, refused before anything is written."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not organization_id:
        raise ValueError("an audit event belongs to an organization")
    # Microseconds are what both databases keep; truncating here keeps the hash reproducible.
    when = (at or datetime.now(UTC)).astimezone(UTC)
    event: dict[str, Any] = {
        "organization_id": organization_id,
        "at": when,
        "action": action,
        "actor_member_id": actor_member_id,
        "actor_email": actor_email,
        "target_member_id": target_member_id,
        "target_email": target_email,
        "session_id": session_id,
        "details": canonical_details(details),
    }
    with write_transaction(engine) as conn:
        head = conn.execute(
            sa.select(portal_audit_head.c.seq, portal_audit_head.c.hash)
            .where(portal_audit_head.c.id == 1)
            .with_for_update()
        ).one()
        event["seq"] = head.seq + 1
        event["prev_hash"] = head.hash
        event["hash"] = event_hash(event)
        conn.execute(portal_audit_events.insert().values(**event))
        conn.execute(
            portal_audit_head.update().where(portal_audit_head.c.id == 1).values(seq=event["seq"], hash=event["hash"])
        )
