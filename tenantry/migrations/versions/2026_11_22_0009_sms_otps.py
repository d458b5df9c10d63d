"""sms_otps: MFA: phone numbers and SMS one-time passcodes — SMS area

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

``sms_otps`` keeps one live SMS passcode per member, as an HMAC only, with its attempt count.
``sms_outbox`` queues text messages for the delivery loop, bodies sealed (AES-GCM) until sent.
The member's phone number itself lives on ``members`` (migration 0008).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sms_otps",
        sa.Column("member_id", sa.String(80), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column("challenge_id", sa.String(32), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("phone_number", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("consumed_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.member_id"], name=op.f("fk_sms_otps_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_sms_otps")),
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("to_number", sa.String(32), nullable=False),
        sa.Column("body_sealed", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_index("ix_sms_outbox_due", "sms_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbox_due", table_name="sms_outbox")
    op.drop_table("sms_outbox")
    op.drop_table("sms_otps")
