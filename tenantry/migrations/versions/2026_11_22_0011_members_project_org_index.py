"""members: the organization index leads with project_id, so member search needs no statistics

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22

Member search (and deleting an organization's members) filter on ``project_id = ? AND
organization_id IN (...)``. With ``ix_members_org_member (organization_id, member_id)`` the
planner had two indexes with one equality column each, ``ix_members_project_email`` and the
organization ones; without ``sqlite_stat1`` rows SQLite takes whichever index was created last,
and that order differs from one installation to the next. When it was the project's index, the
total of one organization's members walked the whole project (2.7 s at 1M members instead of
0.1 ms). ``(project_id, organization_id, member_id)`` matches both equalities, so every planner
prefers it with or without statistics, and it still serves the page in member_id order.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_members_project_org_member", "members", ["project_id", "organization_id", "member_id"])
    op.drop_index("ix_members_org_member", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_org_member", "members", ["organization_id", "member_id"])
    op.drop_index("ix_members_project_org_member", table_name="members")
