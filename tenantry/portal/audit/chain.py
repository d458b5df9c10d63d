"""The hash chain: how one audit event's hash is computed, and how the whole log is checked.

Each event's hash is SHA-256 over a canonical JSON object of its fields plus the previous
event's hash, so changing, inserting or deleting any row breaks every link after it. The chain
head (``portal_audit_head``) holds the last sequence number and hash, which also reveals rows cut
off the end of the log.

What the chain proves: that the rows are the ones the portal wrote, in the order it wrote them,
unless someone recomputed every later hash *and* the head. Anyone with write access to the
database can do that, so ``tenantry audit verify`` prints the head hash: kept somewhere else
(a ticket, a log shipper), it pins the history up to that point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import read_transaction
from tenantry.db.schema import portal_audit_events, portal_audit_head

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "organization_id",
    "at",
    "action",
    "actor_member_id",
    "actor_email",
    "target_member_id",
    "target_email",
    "session_id",
    "details",
    "prev_hash",
)


def canonical_time(at: datetime) -> str:
    """UTC with microseconds: the form that survives both SQLite's text and PostgreSQL's timestamptz.

    SQLite gives timestamps back without a zone; they were written in UTC, so naive means UTC.
    """
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_details(details: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(details or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the canonical JSON of the hashed fields (``details`` is already canonical text)."""
    fields = {name: event[name] for name in HASHED_FIELDS}
    fields["at"] = canonical_time(event["at"])
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None


def verify(engine: Engine, *, batch: int = 1000) -> Verification:
    """Walk the whole chain in order; stop at the first row that does not hold."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    with read_transaction(engine) as conn:
        head = conn.execute(sa.select(portal_audit_head).where(portal_audit_head.c.id == 1)).one()

        def broken(seq: int, reason: str) -> Verification:
            return Verification(False, checked, head.seq, head.hash, seq, reason)

        after = 0
        while True:
            rows = conn.execute(
                sa.select(portal_audit_events)
                .where(portal_audit_events.c.seq > after)
                .order_by(portal_audit_events.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                event = row._asdict()
                if row.seq != expected_seq:
                    return broken(expected_seq, f"row {expected_seq} is missing (the next row is {row.seq})")
                if row.prev_hash != prev_hash:
                    return broken(row.seq, "prev_hash does not match the previous row's hash")
                if event_hash(event) != row.hash:
                    return broken(row.seq, "the row's contents do not match its hash")
                prev_hash, expected_seq, checked = row.hash, row.seq + 1, checked + 1
            after = rows[-1].seq
        last_seq = expected_seq - 1
        if head.seq != last_seq:
            return broken(last_seq + 1, f"the chain head records {head.seq} events but the log ends at {last_seq}")
        if head.hash != prev_hash:
            return broken(last_seq, "the chain head's hash does not match the last row")
    return Verification(True, checked, head.seq, head.hash)
