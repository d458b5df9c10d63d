"""search indexes: keyset pagination by id, claimed email domains, member external ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Organization and member search page through results in id order, scoped by project (or by
organization), so those orders get composite indexes; claimed email domains get one row per
domain (like allowed domains) so the ``claimed_email_domains`` filter is an index lookup; a
member's external id is unique within its organization.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization_claimed_domains",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=80), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.organization_id"],
            name=op.f("fk_organization_claimed_domains_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "domain", name=op.f("pk_organization_claimed_domains")),
    )
    op.create_index("ix_organization_claimed_domains_lookup", "organization_claimed_domains", ["project_id", "domain"])
    op.create_index("ix_organizations_project_id", "organizations", ["project_id", "organization_id", "name", "slug"])
    op.create_index("ix_members_org_member", "members", ["organization_id", "member_id"])
    op.create_index("uq_members_org_external_id", "members", ["organization_id", "external_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_members_org_external_id", table_name="members")
    op.drop_index("ix_members_org_member", table_name="members")
    op.drop_index("ix_organizations_project_id", table_name="organizations")
    op.drop_index("ix_organization_claimed_domains_lookup", table_name="organization_claimed_domains")
    op.drop_table("organization_claimed_domains")
