"""mfa_totp_recovery: MFA: member MFA fields, TOTP registrations, recovery codes — MFA core area

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Members gain Stytch's MFA fields (``mfa_enrolled``, ``mfa_phone_number`` and whether it is
verified, ``default_mfa_method``, and the id of the member's active TOTP registration, kept on the
member so every member serialisation has it without a join). TOTP secrets and recovery codes must
be recoverable (TOTP codes are computed from the secret; Stytch's GET recovery_codes returns the
codes), so they are stored AES-GCM encrypted; recovery codes additionally carry a keyed digest
that single-use redemption matches on. ``mfa_attempts`` counts failed second-factor attempts per
member and factor; ``server_keys`` holds a random master key, generated here once, used for that
encryption and those digests when ``TENANTRY_MFA_KEY`` is not configured.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_enrolled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("mfa_phone_number", sa.String(32), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("mfa_phone_number_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("default_mfa_method", sa.String(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("totp_registration_id", sa.String(96), nullable=False, server_default=""))

    op.create_table(
        "totp_registrations",
        sa.Column("totp_registration_id", sa.String(96), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column("member_id", sa.String(80), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.member_id"],
            name=op.f("fk_totp_registrations_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("totp_registration_id", name=op.f("pk_totp_registrations")),
    )
    op.create_index("ix_totp_registrations_member", "totp_registrations", ["member_id"])

    op.create_table(
        "recovery_codes",
        sa.Column("member_id", sa.String(80), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.member_id"],
            name=op.f("fk_recovery_codes_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "code_digest", name=op.f("pk_recovery_codes")),
    )

    op.create_table(
        "mfa_attempts",
        sa.Column("member_id", sa.String(80), nullable=False),
        sa.Column("factor", sa.String(32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.member_id"],
            name=op.f("fk_mfa_attempts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "factor", name=op.f("pk_mfa_attempts")),
    )

    keys = op.create_table(
        "server_keys",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_material", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_keys")),
    )
    op.bulk_insert(
        keys,
        [
            {
                "name": "mfa",
                "key_material": secrets.token_hex(32),
                "created_at": datetime.now(UTC).replace(microsecond=0),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("server_keys")
    op.drop_table("mfa_attempts")
    op.drop_table("recovery_codes")
    op.drop_index("ix_totp_registrations_member", table_name="totp_registrations")
    op.drop_table("totp_registrations")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("totp_registration_id")
        batch_op.drop_column("default_mfa_method")
        batch_op.drop_column("mfa_phone_number_verified")
        batch_op.drop_column("mfa_phone_number")
        batch_op.drop_column("mfa_enrolled")
