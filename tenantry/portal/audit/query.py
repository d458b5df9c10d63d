"""Reading audit events back: the audit page's filters and the CSV/JSON exports.

Every read here is for one organization unless the caller is the operator's CLI
(``organization_id=None``); the portal always passes the signed-in clinic.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import read_transaction
from tenantry.db.schema import portal_audit_events as events
from tenantry.portal.audit.chain import canonical_time

EXPORT_FIELDS = (
    "seq",
    "at",
    "organization_id",
    "action",
    "actor_member_id",
    "actor_email",
    "target_member_id",
    "target_email",
    "session_id",
    "details",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Filters:
    """The audit page's filters; empty strings and None mean "any"."""

    action: str | None = None
    actor: str | None = None  # member id or email, exact (emails case-insensitively)
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(organization_id: str | None, filters: Filters) -> list[Any]:
    where: list[Any] = []
    if organization_id is not None:
        where.append(events.c.organization_id == organization_id)
    if filters.action:
        where.append(events.c.action == filters.action)
    if filters.actor:
        who = filters.actor.strip()
        where.append(sa.or_(events.c.actor_member_id == who, sa.func.lower(events.c.actor_email) == who.lower()))
    if filters.target:
        who = filters.target.strip()
        where.append(sa.or_(events.c.target_member_id == who, sa.func.lower(events.c.target_email) == who.lower()))
    if filters.since:
        where.append(events.c.at >= filters.since)
    if filters.until:
        where.append(events.c.at < filters.until)
    return where


def as_dict(row: Any) -> dict[str, Any]:
    event = row._asdict()
    event["at"] = canonical_time(event["at"])
    event["details"] = json.loads(event["details"])
    return event


def search(
    engine: Engine, *, organization_id: str, filters: Filters = Filters(), limit: int = 200
) -> list[dict[str, Any]]:
    """The newest ``limit`` matching events of one organization, newest first."""
    with read_transaction(engine) as conn:
        rows = conn.execute(
            sa.select(events).where(*_conditions(organization_id, filters)).order_by(events.c.seq.desc()).limit(limit)
        ).all()
    return [as_dict(r) for r in rows]


def iter_events(
    engine: Engine, *, organization_id: str | None, filters: Filters = Filters(), batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, read in batches so an export never holds the whole log."""
    after = 0
    while True:
        with read_transaction(engine) as conn:
            rows = conn.execute(
                sa.select(events)
                .where(events.c.seq > after, *_conditions(organization_id, filters))
                .order_by(events.c.seq)
                .limit(batch)
            ).all()
        if not rows:
            return
        for row in rows:
            yield as_dict(row)
        after = rows[-1].seq


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict) else str(value)
    # A spreadsheet would run a cell that starts like a formula (OWASP "CSV injection"); an
    # apostrophe keeps it text. The JSON export carries the exact values.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(row[f]) for f in EXPORT_FIELDS])
        yield buffer.getvalue()


def to_json(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, written one event at a time."""
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps({f: row[f] for f in EXPORT_FIELDS}, ensure_ascii=False)
    yield "\n]\n"
