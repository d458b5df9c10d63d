"""sandbox_pins: operator-pinned test values and each link's redirect URL — links/sandbox area

* ``sandbox_pins``: an email OTP code or magic-link token an operator fixed for one address of a
  test project (``tenantry projects sandbox pin``). Kept as given, not hashed: the mail to that
  address must carry the very value the operator chose. Test projects only.
* ``magic_links.redirect_url``: the redirect URL validated when the link was sent; the Continue
  page forwards there and nowhere else.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_pins",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_sandbox_pins_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "email_address", "kind", name=op.f("pk_sandbox_pins")),
    )
    # A pinned magic-link token becomes a magic_links primary key: it must be unique server-wide.
    op.create_index(
        "uq_sandbox_pins_magic_link_value",
        "sandbox_pins",
        ["value"],
        unique=True,
        sqlite_where=sa.text("kind = 'magic_link'"),
        postgresql_where=sa.text("kind = 'magic_link'"),
    )
    with op.batch_alter_table("magic_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redirect_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("magic_links", schema=None) as batch_op:
        batch_op.drop_column("redirect_url")
    op.drop_index("uq_sandbox_pins_magic_link_value", table_name="sandbox_pins")
    op.drop_table("sandbox_pins")
