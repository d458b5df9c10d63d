"""email_otps: email one-time passcodes — email OTP area

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

``email_otps`` holds one row per (project, email, scope), scope being ``discovery`` or an
organization id: a new send replaces the row, so only the latest code is valid (as on Stytch).
Codes are stored as an HMAC under the project's key in ``project_otp_settings``, which also
holds the project's choice to put a code into magic-link emails.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_otps",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("challenge_id", sa.String(length=32), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=True),
        sa.Column("link_digest", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("project_id", "email_address", "scope", name=op.f("pk_email_otps")),
    )
    op.create_index("ix_email_otps_link_digest", "email_otps", ["link_digest"])
    op.create_table(
        "project_otp_settings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("hmac_key", sa.String(length=64), nullable=False),
        sa.Column("code_in_magic_link_email", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_project_otp_settings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_otp_settings")),
    )


def downgrade() -> None:
    op.drop_table("project_otp_settings")
    op.drop_index("ix_email_otps_link_digest", table_name="email_otps")
    op.drop_table("email_otps")
