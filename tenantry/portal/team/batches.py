"""CSV invitation batches in the database: created by the upload, carried on by whichever worker
serves the progress page next, so nothing depends on one process staying alive.

A row is *claimed* (``claimed_until`` in the future) before its Stytch call and *finished* with its
outcome after it. Two progress pages open at once claim different rows; a claim left by a worker
that died expires and the row is taken again.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import read_transaction, write_transaction
from tenantry.db.schema import portal_invite_batch_rows as batch_rows
from tenantry.db.schema import portal_invite_batches as batches
from tenantry.portal.team.csv_rows import CsvRow

CLAIM_SECONDS = 60


@dataclass(frozen=True)
class Batch:
    batch_id: str
    filename: str
    rows: list[CsvRow]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def done(self) -> int:
        return sum(1 for r in self.rows if r.outcome is not None)

    @property
    def finished(self) -> bool:
        return self.done == self.total


def create(engine: Engine, *, organization_id: str, actor_member_id: str, filename: str, rows: Sequence[CsvRow]) -> str:
    batch_id = "batch-" + secrets.token_hex(16)
    with write_transaction(engine) as conn:
        conn.execute(
            batches.insert().values(
                batch_id=batch_id,
                organization_id=organization_id,
                actor_member_id=actor_member_id,
                filename=filename[:255],
                created_at=datetime.now(UTC),
            )
        )
        conn.execute(
            batch_rows.insert(),
            [
                {
                    "batch_id": batch_id,
                    "line": r.line,
                    "email": r.email,
                    "name": r.name,
                    "role": r.role,
                    "outcome": r.outcome,
                    "message": r.message,
                }
                for r in rows
            ],
        )
    return batch_id


def load(engine: Engine, *, batch_id: str, organization_id: str, actor_member_id: str) -> Batch | None:
    """The batch, only for the member who uploaded it, in the clinic it was uploaded to."""
    with read_transaction(engine) as conn:
        head = conn.execute(
            sa.select(batches.c.filename).where(
                batches.c.batch_id == batch_id,
                batches.c.organization_id == organization_id,
                batches.c.actor_member_id == actor_member_id,
            )
        ).first()
        if head is None:
            return None
        rows = conn.execute(
            sa.select(batch_rows).where(batch_rows.c.batch_id == batch_id).order_by(batch_rows.c.line)
        ).all()
    return Batch(batch_id, head.filename, [CsvRow(r.line, r.email, r.name, r.role, r.outcome, r.message) for r in rows])


def claim(engine: Engine, batch_id: str) -> CsvRow | None:
    """Take the next waiting row, or None when every row is finished or claimed by someone else."""
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        for _ in range(5):
            row = conn.execute(
                sa.select(batch_rows)
                .where(
                    batch_rows.c.batch_id == batch_id,
                    batch_rows.c.outcome.is_(None),
                    sa.or_(batch_rows.c.claimed_until.is_(None), batch_rows.c.claimed_until < now),
                )
                .order_by(batch_rows.c.line)
                .limit(1)
            ).first()
            if row is None:
                return None
            # Conditional on the row still being free: on PostgreSQL another worker may have
            # taken it between our SELECT and this UPDATE.
            taken = conn.execute(
                batch_rows.update()
                .where(
                    batch_rows.c.batch_id == batch_id,
                    batch_rows.c.line == row.line,
                    batch_rows.c.outcome.is_(None),
                    sa.or_(batch_rows.c.claimed_until.is_(None), batch_rows.c.claimed_until < now),
                )
                .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
            ).rowcount
            if taken == 1:
                return CsvRow(row.line, row.email, row.name, row.role)
    return None


def finish(engine: Engine, batch_id: str, line: int, outcome: str, message: str | None) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            batch_rows.update()
            .where(batch_rows.c.batch_id == batch_id, batch_rows.c.line == line)
            .values(outcome=outcome, message=message, claimed_until=None)
        )
