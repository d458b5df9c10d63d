"""portal: the clinic portal's own state — delegation audit log and CSV invitation batches

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

The portal talks to Tenantry (or Stytch) only through the SDK; what it keeps itself lives here,
in ``portal_*`` tables.

``portal_audit_events`` is append-only and hash-chained (``tenantry.portal.audit``): each row
stores the previous row's hash and its own, over a canonical JSON of its fields. Triggers refuse
UPDATE and DELETE, so the application cannot rewrite history by mistake; the chain is what
reveals a rewrite by someone who got around them. ``portal_audit_head`` is the one-row chain head
(last sequence number and hash): appenders lock it, so two appends never fork the chain, and it
shows when rows were cut off the end.

``portal_invite_batches`` / ``portal_invite_batch_rows`` hold a CSV upload and each row's result,
so progress survives a restart and any worker can continue the batch. ``portal_team_locks`` is a
short lease per clinic: role changes and removals that could touch an owner run one at a time,
so two owners removing each other at once cannot leave the clinic without one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)
GENESIS_HASH = "0" * 64

_REFUSE = "portal_audit_events is append-only"


def upgrade() -> None:
    op.create_table(
        "portal_audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_member_id", sa.String(128), nullable=True),
        sa.Column("actor_email", sa.String(320), nullable=True),
        sa.Column("target_member_id", sa.String(128), nullable=True),
        sa.Column("target_email", sa.String(320), nullable=True),
        sa.Column("session_id", sa.String(128), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_portal_audit_events")),
    )
    op.create_index("ix_portal_audit_events_org_seq", "portal_audit_events", ["organization_id", "seq"])
    op.create_index("ix_portal_audit_events_org_at", "portal_audit_events", ["organization_id", "at"])
    op.create_table(
        "portal_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_audit_head")),
    )
    op.execute(f"INSERT INTO portal_audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION portal_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER portal_audit_append_only BEFORE UPDATE OR DELETE ON portal_audit_events "
            "FOR EACH ROW EXECUTE FUNCTION portal_audit_refuse()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER portal_audit_no_{event.lower()} BEFORE {event} ON portal_audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )

    op.create_table(
        "portal_invite_batches",
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("actor_member_id", sa.String(128), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_portal_invite_batches")),
    )
    op.create_table(
        "portal_invite_batch_rows",
        sa.Column("batch_id", sa.String(40), nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("claimed_until", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["portal_invite_batches.batch_id"],
            name=op.f("fk_portal_invite_batch_rows_batch_id_portal_invite_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "line", name=op.f("pk_portal_invite_batch_rows")),
    )
    op.create_table(
        "portal_team_locks",
        sa.Column("organization_id", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_portal_team_locks")),
    )


def downgrade() -> None:
    op.drop_table("portal_team_locks")
    op.drop_table("portal_invite_batch_rows")
    op.drop_table("portal_invite_batches")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS portal_audit_append_only ON portal_audit_events")
        op.execute("DROP FUNCTION IF EXISTS portal_audit_refuse()")
    op.drop_table("portal_audit_head")
    op.drop_index("ix_portal_audit_events_org_at", table_name="portal_audit_events")
    op.drop_index("ix_portal_audit_events_org_seq", table_name="portal_audit_events")
    op.drop_table("portal_audit_events")
