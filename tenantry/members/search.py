"""Member search: Stytch's filters -> one SQL condition, always within the given organizations
of one project. Without a ``statuses`` filter deleted members are left out, as on Stytch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tenantry.db.schema import members
from tenantry.members.models import ACTIVE, DELETED, INVITED, PENDING
from tenantry.search import Operand, Query, bool_value, fuzzy_value, search_error, string_list, string_value

PREFIX = "member_search"
STATUSES = (ACTIVE, INVITED, PENDING, DELETED)


def _contains(column: Any, value: str) -> Any:
    return sa.func.lower(column).contains(value, autoescape=True)


def _statuses(operand: Operand) -> Any:
    values = string_list(PREFIX, operand)
    for value in values:
        if value not in STATUSES:
            raise search_error("search", "invalid_status_filter", f"statuses may only contain {', '.join(STATUSES)}.")
    return members.c.status.in_(values)


def _phones(operand: Operand) -> Any:
    string_list(PREFIX, operand)
    return sa.false()  # Tenantry stores no MFA phone numbers.


def _phone_fuzzy(operand: Operand) -> Any:
    value = string_value(PREFIX, operand)
    if len(value.strip()) < 3:
        raise search_error(
            PREFIX, "member_mfa_phone_number_fuzzy_too_short", "member_phone_number_fuzzy needs at least 3 characters."
        )
    return sa.false()  # Tenantry stores no MFA phone numbers.


def _condition(operand: Operand) -> Any:
    c = members.c
    builders: dict[str, Callable[[], Any]] = {
        # member_ids also match external ids: Stytch accepts either wherever a member_id goes.
        "member_ids": lambda: sa.or_(
            c.member_id.in_(string_list(PREFIX, operand)), c.external_id.in_(string_list(PREFIX, operand))
        ),
        "member_emails": lambda: c.email_address.in_([e.lower() for e in string_list(PREFIX, operand)]),
        "member_email_fuzzy": lambda: _contains(c.email_address, fuzzy_value(PREFIX, operand)),
        "member_is_breakglass": lambda: c.is_breakglass.is_(bool_value(PREFIX, operand)),
        "statuses": lambda: _statuses(operand),
        "member_phone_numbers": lambda: _phones(operand),
        "member_phone_number_fuzzy": lambda: _phone_fuzzy(operand),
    }
    build = builders.get(operand.filter_name)
    if build is None:
        raise search_error(
            PREFIX, "filter_name_not_recognized", f"The filter_name '{operand.filter_name[:64]}' is not recognized."
        )
    return build()


def condition(project_id: str, organization_ids: list[str], query: Query) -> Any:
    scoped = sa.and_(members.c.project_id == project_id, members.c.organization_id.in_(organization_ids))
    parts = [_condition(op) for op in query.operands]
    if not any(op.filter_name == "statuses" for op in query.operands):
        scoped = sa.and_(scoped, members.c.status != DELETED)
    if not parts:
        return scoped
    return sa.and_(scoped, sa.and_(*parts) if query.operator == "AND" else sa.or_(*parts))
