"""rate_limits: rate-limit counters shared by all workers — rate limit area

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

``rate_limit_counters`` holds one row per (scope, keyed hash of project and email, phone or
address): a fixed window opened by the first request, counted with an atomic upsert.
``rate_limit_secret`` holds the random HMAC key of those hashes, generated here once, used when
``TENANTRY_RATE_LIMIT_KEY`` is not set.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_digest", name=op.f("pk_rate_limit_counters")),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])
    secret_table = op.create_table(
        "rate_limit_secret",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_secret")),
    )
    op.bulk_insert(secret_table, [{"id": 1, "secret": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("rate_limit_secret")
    op.drop_index("ix_rate_limit_counters_expires_at", table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
