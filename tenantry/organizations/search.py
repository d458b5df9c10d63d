"""Organization search: Stytch's filters -> one SQL condition over indexed columns.

Exact filters are index lookups (primary key, ``(project_id, slug)``, the per-domain tables,
``members (project_id, email_address)``); fuzzy filters are case-insensitive substring matches
and need at least three characters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tenantry.db.schema import members, organization_claimed_domains, organization_domains, organizations
from tenantry.members.models import DELETED
from tenantry.search import Operand, Query, bool_value, fuzzy_value, search_error, string_list

PREFIX = "organization_search"


def _contains(column: Any, value: str) -> Any:
    return sa.func.lower(column).contains(value, autoescape=True)


def _ids_of(table: sa.Table, project_id: str, where: Any) -> Any:
    return sa.select(table.c.organization_id).where(table.c.project_id == project_id, where)


def _member_orgs(project_id: str, where: Any) -> Any:
    return _ids_of(members, project_id, sa.and_(where, members.c.status != DELETED))


def _condition(project_id: str, operand: Operand) -> Any:
    name = operand.filter_name
    c = organizations.c
    builders: dict[str, Callable[[], Any]] = {
        "organization_ids": lambda: c.organization_id.in_(string_list(PREFIX, operand)),
        "organization_slugs": lambda: c.slug.in_(string_list(PREFIX, operand)),
        "organization_name_fuzzy": lambda: _contains(c.name, fuzzy_value(PREFIX, operand)),
        "organization_slug_fuzzy": lambda: _contains(c.slug, fuzzy_value(PREFIX, operand)),
        "member_emails": lambda: c.organization_id.in_(
            _member_orgs(project_id, members.c.email_address.in_([e.lower() for e in string_list(PREFIX, operand)]))
        ),
        "member_email_fuzzy": lambda: c.organization_id.in_(
            _member_orgs(project_id, _contains(members.c.email_address, fuzzy_value(PREFIX, operand)))
        ),
        "allowed_domains": lambda: c.organization_id.in_(
            _ids_of(
                organization_domains,
                project_id,
                organization_domains.c.domain.in_([d.lower() for d in string_list(PREFIX, operand)]),
            )
        ),
        "allowed_domain_fuzzy": lambda: c.organization_id.in_(
            _ids_of(
                organization_domains, project_id, _contains(organization_domains.c.domain, fuzzy_value(PREFIX, operand))
            )
        ),
        "claimed_email_domains": lambda: c.organization_id.in_(
            _ids_of(
                organization_claimed_domains,
                project_id,
                organization_claimed_domains.c.domain.in_([d.lower() for d in string_list(PREFIX, operand)]),
            )
        ),
        # Tenantry has no SSO connections: no organization has an active one.
        "has_active_sso_connection": lambda: sa.true() if not bool_value(PREFIX, operand) else sa.false(),
        "sso_connection_id": lambda: _no_match(operand),
    }
    build = builders.get(name)
    if build is None:
        raise search_error(PREFIX, "filter_name_not_recognized", f"The filter_name '{name[:64]}' is not recognized.")
    return build()


def _no_match(operand: Operand) -> Any:
    if not isinstance(operand.filter_value, str):
        raise search_error(PREFIX, "expected_string", f"{operand.filter_name} expects a string.")
    return sa.false()


def condition(project_id: str, query: Query) -> Any:
    """The WHERE clause for ``query`` within ``project_id`` (always project-scoped)."""
    scoped = organizations.c.project_id == project_id
    if not query.operands:
        return scoped
    parts = [_condition(project_id, op) for op in query.operands]
    combined = sa.and_(*parts) if query.operator == "AND" else sa.or_(*parts)
    return sa.and_(scoped, combined)
