"""Organization rows: every query is scoped by project."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from tenantry.clock import as_utc
from tenantry.db.schema import (
    member_sessions,
    members,
    organization_claimed_domains,
    organization_domains,
    organizations,
)
from tenantry.organizations.models import Organization


def _from_row(row: Row[Any]) -> Organization:
    return Organization(
        organization_id=row.organization_id,
        project_id=row.project_id,
        name=row.name,
        slug=row.slug,
        external_id=row.external_id,
        logo_url=row.logo_url,
        trusted_metadata=dict(row.trusted_metadata or {}),
        settings=dict(row.settings or {}),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        custom_roles=list(row.custom_roles or []),
    )


# Built once with bound parameters: building a statement (and its cache key) per call cost more
# than SQLite takes to run it, on every request of the onboarding path.
_INSERT = organizations.insert()
_GET = sa.select(organizations).where(
    organizations.c.project_id == sa.bindparam("project_id"),
    organizations.c.organization_id == sa.bindparam("organization_id"),
)
_BY_REFERENCE = (
    sa.select(organizations)
    .where(
        organizations.c.project_id == sa.bindparam("project_id"),
        sa.or_(
            organizations.c.organization_id == sa.bindparam("reference"),
            organizations.c.slug == sa.bindparam("reference"),
            organizations.c.external_id == sa.bindparam("reference"),
        ),
    )
    .limit(1)
)
_DOMAINS_DELETE = organization_domains.delete().where(
    organization_domains.c.organization_id == sa.bindparam("organization_id")
)
_DOMAINS_INSERT = organization_domains.insert()
_CLAIMED_DELETE = organization_claimed_domains.delete().where(
    organization_claimed_domains.c.organization_id == sa.bindparam("organization_id")
)
_CLAIMED_INSERT = organization_claimed_domains.insert()
_SLUG_TAKEN = sa.select(organizations.c.organization_id).where(
    organizations.c.project_id == sa.bindparam("project_id"), organizations.c.slug == sa.bindparam("slug")
)
_ADMITTING = sa.select(organization_domains.c.organization_id).where(
    organization_domains.c.project_id == sa.bindparam("project_id"),
    organization_domains.c.domain == sa.bindparam("domain"),
)
_GET_MANY = sa.select(organizations).where(
    organizations.c.project_id == sa.bindparam("project_id"),
    organizations.c.organization_id.in_(sa.bindparam("organization_ids", expanding=True)),
)


def insert(conn: Connection, org: Organization) -> None:
    conn.execute(
        _INSERT,
        {
            "organization_id": org.organization_id,
            "project_id": org.project_id,
            "name": org.name,
            "slug": org.slug,
            "external_id": org.external_id,
            "logo_url": org.logo_url,
            "trusted_metadata": org.trusted_metadata,
            "settings": org.settings,
            "created_at": org.created_at,
            "updated_at": org.updated_at,
        },
    )
    # A new organization has no domain rows yet: nothing to delete first.
    _insert_domains(conn, _DOMAINS_INSERT, org.project_id, org.organization_id, org.allowed_domains)
    claimed = list(org.setting("claimed_email_domains"))
    _insert_domains(conn, _CLAIMED_INSERT, org.project_id, org.organization_id, claimed)


def _insert_domains(conn: Connection, insert: Any, project_id: str, organization_id: str, domains: list[str]) -> None:
    if domains:
        conn.execute(
            insert, [{"project_id": project_id, "organization_id": organization_id, "domain": d} for d in domains]
        )


def replace_domains(conn: Connection, project_id: str, organization_id: str, domains: list[str]) -> None:
    conn.execute(_DOMAINS_DELETE, {"organization_id": organization_id})
    _insert_domains(conn, _DOMAINS_INSERT, project_id, organization_id, domains)


def get(conn: Connection, project_id: str, organization_id: str) -> Organization | None:
    row = conn.execute(_GET, {"project_id": project_id, "organization_id": organization_id}).first()
    return _from_row(row) if row else None


def get_by_reference(conn: Connection, project_id: str, reference: str) -> Organization | None:
    """Stytch accepts an organization id, slug or external id wherever it takes an id."""
    row = conn.execute(_BY_REFERENCE, {"project_id": project_id, "reference": reference}).first()
    return _from_row(row) if row else None


def get_many(conn: Connection, project_id: str, organization_ids: Iterable[str]) -> dict[str, Organization]:
    ids = list(set(organization_ids))
    if not ids:
        return {}
    rows = conn.execute(_GET_MANY, {"project_id": project_id, "organization_ids": ids})
    return {r.organization_id: _from_row(r) for r in rows}


def slug_taken(conn: Connection, project_id: str, slug: str) -> bool:
    return conn.execute(_SLUG_TAKEN, {"project_id": project_id, "slug": slug}).first() is not None


def external_id_taken(conn: Connection, project_id: str, external_id: str) -> bool:
    return (
        conn.execute(
            sa.select(organizations.c.organization_id).where(
                organizations.c.project_id == project_id, organizations.c.external_id == external_id
            )
        ).first()
        is not None
    )


def organizations_admitting_domain(conn: Connection, project_id: str, domain: str) -> list[str]:
    rows = conn.execute(_ADMITTING, {"project_id": project_id, "domain": domain})
    return [r.organization_id for r in rows]


def touch(conn: Connection, organization_id: str, when: datetime) -> None:
    conn.execute(
        organizations.update().where(organizations.c.organization_id == organization_id).values(updated_at=when)
    )


# -- organizations API: update, delete, search ---------------------------------------------------


def replace_claimed_domains(conn: Connection, project_id: str, organization_id: str, domains: list[str]) -> None:
    conn.execute(_CLAIMED_DELETE, {"organization_id": organization_id})
    _insert_domains(conn, _CLAIMED_INSERT, project_id, organization_id, domains)


def update(conn: Connection, project_id: str, organization_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        organizations.update()
        .where(organizations.c.project_id == project_id, organizations.c.organization_id == organization_id)
        .values(**values)
    )


def delete(conn: Connection, project_id: str, organization_id: str) -> None:
    """The organization and everything hanging off it (sessions and members via the foreign
    keys' ON DELETE CASCADE, deleted explicitly too so no engine setting can leave them)."""
    conn.execute(
        member_sessions.delete().where(
            member_sessions.c.project_id == project_id, member_sessions.c.organization_id == organization_id
        )
    )
    conn.execute(
        members.delete().where(members.c.project_id == project_id, members.c.organization_id == organization_id)
    )
    for table in (organization_domains, organization_claimed_domains):
        conn.execute(table.delete().where(table.c.organization_id == organization_id))
    conn.execute(
        organizations.delete().where(
            organizations.c.project_id == project_id, organizations.c.organization_id == organization_id
        )
    )


def slug_owner(conn: Connection, project_id: str, slug: str) -> str | None:
    return conn.execute(
        sa.select(organizations.c.organization_id).where(
            organizations.c.project_id == project_id, organizations.c.slug == slug
        )
    ).scalar()


def external_id_owner(conn: Connection, project_id: str, external_id: str) -> str | None:
    return conn.execute(
        sa.select(organizations.c.organization_id).where(
            organizations.c.project_id == project_id, organizations.c.external_id == external_id
        )
    ).scalar()


def search_page(conn: Connection, where: Any, *, after: str | None, limit: int) -> list[Organization]:
    """Up to ``limit`` organizations matching ``where`` with ids after ``after``, in id order."""
    query = sa.select(organizations).where(where)
    if after is not None:
        query = query.where(organizations.c.organization_id > after)
    rows = conn.execute(query.order_by(organizations.c.organization_id).limit(limit))
    return [_from_row(r) for r in rows]


def count(conn: Connection, where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(organizations).where(where)).scalar() or 0)
