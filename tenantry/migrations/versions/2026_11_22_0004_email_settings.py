"""email_settings: per-project sender (name and address), copied onto each queued mail —
email delivery area

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL means "TENANTRY_MAIL_FROM": existing projects keep the server-wide sender.
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_from_name", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("mail_from_address", sa.String(320), nullable=True))
    # The sender is copied onto the mail when it is queued, so a retry leaves with the same From.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_name", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("from_address", sa.String(320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("from_address")
        batch_op.drop_column("from_name")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("mail_from_address")
        batch_op.drop_column("mail_from_name")
