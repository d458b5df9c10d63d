"""Member rows: every query is scoped by project."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from tenantry.clock import as_utc
from tenantry.db.joined import table_parts
from tenantry.db.prepared import Prepared
from tenantry.db.schema import members, organizations
from tenantry.members.models import ACTIVE, Member, email_domain
from tenantry.organizations import store as organizations_store
from tenantry.organizations.models import Organization


def _from_row(row: Row[Any]) -> Member:
    return Member(
        member_id=row.member_id,
        project_id=row.project_id,
        organization_id=row.organization_id,
        email_address=row.email_address,
        email_id=row.email_id,
        email_verified=bool(row.email_verified),
        status=row.status,
        name=row.name,
        roles=list(row.roles or []),
        trusted_metadata=dict(row.trusted_metadata or {}),
        untrusted_metadata=dict(row.untrusted_metadata or {}),
        is_breakglass=bool(row.is_breakglass),
        external_id=row.external_id,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        mfa_enrolled=bool(row.mfa_enrolled),
        mfa_phone_number=row.mfa_phone_number or "",
        mfa_phone_number_verified=bool(row.mfa_phone_number_verified),
        default_mfa_method=row.default_mfa_method or "",
        totp_registration_id=row.totp_registration_id or "",
    )


# Built once with bound parameters: building a statement (and its cache key) per call cost more
# than SQLite takes to run it, on every request of the onboarding path.
_INSERT = members.insert()
_GET = sa.select(members).where(
    members.c.project_id == sa.bindparam("project_id"), members.c.member_id == sa.bindparam("member_id")
)
_BY_EMAIL = Prepared(
    sa.select(members).where(
        members.c.project_id == sa.bindparam("project_id"),
        members.c.organization_id == sa.bindparam("organization_id"),
        members.c.email_address == sa.bindparam("email"),
    )
)
_OF_EMAIL = (
    sa.select(members)
    .where(members.c.project_id == sa.bindparam("project_id"), members.c.email_address == sa.bindparam("email"))
    # Times are whole seconds, so memberships made in one second tie; without a tie-breaker
    # PostgreSQL listed them in either order from one call to the next.
    .order_by(members.c.created_at, members.c.organization_id)
)
_WITH_ORGANIZATION = Prepared(
    sa.select(members, organizations)
    .join(
        organizations,
        sa.and_(
            organizations.c.organization_id == members.c.organization_id,
            organizations.c.project_id == members.c.project_id,
        ),
    )
    .where(
        members.c.project_id == sa.bindparam("project_id"),
        members.c.member_id == sa.bindparam("member_id"),
        members.c.organization_id == sa.bindparam("organization_id"),
    )
    .set_label_style(sa.LABEL_STYLE_TABLENAME_PLUS_COL)
)
_SPLIT_WITH_ORGANIZATION = table_parts(members, organizations)
_ACTIVATE = (
    members.update()
    .where(members.c.member_id == sa.bindparam("p_member_id"))
    .values(status=ACTIVE, email_verified=True, updated_at=sa.bindparam("p_when"))
)


def insert(conn: Connection, member: Member) -> None:
    conn.execute(
        _INSERT,
        {
            "member_id": member.member_id,
            "project_id": member.project_id,
            "organization_id": member.organization_id,
            "email_address": member.email_address,
            "email_domain": email_domain(member.email_address),
            "email_id": member.email_id,
            "email_verified": member.email_verified,
            "status": member.status,
            "name": member.name,
            "roles": member.roles,
            "trusted_metadata": member.trusted_metadata,
            "untrusted_metadata": member.untrusted_metadata,
            "is_breakglass": member.is_breakglass,
            "external_id": member.external_id,
            "created_at": member.created_at,
            "updated_at": member.updated_at,
            "mfa_enrolled": member.mfa_enrolled,
            "mfa_phone_number": member.mfa_phone_number,
            "mfa_phone_number_verified": member.mfa_phone_number_verified,
            "default_mfa_method": member.default_mfa_method,
            "totp_registration_id": member.totp_registration_id,
        },
    )


def get(conn: Connection, project_id: str, member_id: str) -> Member | None:
    row = conn.execute(_GET, {"project_id": project_id, "member_id": member_id}).first()
    return _from_row(row) if row else None


def get_with_organization(
    conn: Connection, project_id: str, member_id: str, organization_id: str
) -> tuple[Member, Organization] | None:
    """The member and its organization in one statement (one round trip instead of two), or None
    unless both exist and the member belongs to that organization."""
    row = _WITH_ORGANIZATION.first(
        conn, {"project_id": project_id, "member_id": member_id, "organization_id": organization_id}
    )
    if row is None:
        return None
    member_row, org_row = _SPLIT_WITH_ORGANIZATION(row)
    return _from_row(member_row), organizations_store._from_row(org_row)


def get_by_email(conn: Connection, project_id: str, organization_id: str, email: str) -> Member | None:
    row = _BY_EMAIL.first(conn, {"project_id": project_id, "organization_id": organization_id, "email": email})
    return _from_row(row) if row else None


def memberships_of_email(conn: Connection, project_id: str, email: str) -> list[Member]:
    rows = conn.execute(_OF_EMAIL, {"project_id": project_id, "email": email})
    return [_from_row(r) for r in rows]


def has_verified_member_on_domain(conn: Connection, organization_id: str, domain: str) -> bool:
    return (
        conn.execute(
            sa.select(members.c.member_id)
            .where(
                members.c.organization_id == organization_id,
                members.c.email_domain == domain,
                members.c.email_verified.is_(True),
                members.c.status == ACTIVE,
            )
            .limit(1)
        ).first()
        is not None
    )


def activate(conn: Connection, member_id: str, when: datetime) -> None:
    """A member who proved control of their email becomes active and verified."""
    conn.execute(_ACTIVATE, {"p_member_id": member_id, "p_when": when})


def update(conn: Connection, member_id: str, changes: dict[str, Any]) -> None:
    if changes:
        conn.execute(members.update().where(members.c.member_id == member_id).values(**changes))


# -- members API: lookups, changes and search (every query scoped by project) -------------------


def get_in_organization(conn: Connection, project_id: str, organization_id: str, reference: str) -> Member | None:
    """A member of ``organization_id`` by member id or external id."""
    row = conn.execute(
        sa.select(members)
        .where(
            members.c.project_id == project_id,
            members.c.organization_id == organization_id,
            sa.or_(members.c.member_id == reference, members.c.external_id == reference),
        )
        .limit(1)
    ).first()
    return _from_row(row) if row else None


def external_id_owner(conn: Connection, project_id: str, organization_id: str, external_id: str) -> str | None:
    return conn.execute(
        sa.select(members.c.member_id).where(
            members.c.project_id == project_id,
            members.c.organization_id == organization_id,
            members.c.external_id == external_id,
        )
    ).scalar()


def change(conn: Connection, project_id: str, member_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        members.update().where(members.c.project_id == project_id, members.c.member_id == member_id).values(**values)
    )


def search_page(conn: Connection, where: Any, *, after: str | None, limit: int) -> list[Member]:
    """Up to ``limit`` members matching ``where`` with ids after ``after``, in id order."""
    query = sa.select(members).where(where)
    if after is not None:
        query = query.where(members.c.member_id > after)
    return [_from_row(r) for r in conn.execute(query.order_by(members.c.member_id).limit(limit))]


def count(conn: Connection, where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(members).where(where)).scalar() or 0)


def insert_or_existing(conn: Connection, member: Member) -> tuple[Member, bool]:
    """Insert ``member``, or return the member with the same email that a concurrent request
    inserted a moment ago (the unique constraint decides). The bool says whether we inserted."""
    try:
        with conn.begin_nested():
            insert(conn, member)
    except IntegrityError:
        existing = get_by_email(conn, member.project_id, member.organization_id, member.email_address)
        if existing is None:
            raise
        return existing, False
    return member, True
