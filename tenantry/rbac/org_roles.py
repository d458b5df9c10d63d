"""Organization-scoped custom roles (``PUT /v1/b2b/rbac/organizations/{organization_id}``).

An organization's policy supplements the project policy with roles of its own. Setting it
replaces the whole list. Role ids may not take Stytch's reserved ``stytch_`` prefix; a permission
names either one of Stytch's ``stytch.*`` resources (with actions that resource has) or an
application resource of the developer's choosing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.db.schema import organizations
from tenantry.rbac.policy import RESOURCES

RESERVED_ROLE_PREFIX = "stytch_"
RESERVED_RESOURCE_PREFIX = "stytch"
MAX_ROLE_ID_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 1024
MAX_ROLES = 500


def validate_org_roles(roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roles in Stytch's wire shape, or 400 naming the first problem."""
    if len(roles) > MAX_ROLES:
        raise errors.InvalidArgument(f"An organization policy may define at most {MAX_ROLES} roles.")
    seen: set[str] = set()
    cleaned = []
    for role in roles:
        role_id = role["role_id"]
        if not role_id.strip() or len(role_id) > MAX_ROLE_ID_LENGTH:
            raise errors.InvalidRole(f"role_id must be 1 to {MAX_ROLE_ID_LENGTH} characters.")
        if role_id.startswith(RESERVED_ROLE_PREFIX):
            raise errors.InvalidRole(
                f"role_id {role_id!r} uses the reserved prefix {RESERVED_ROLE_PREFIX!r}; "
                "Stytch's default roles cannot be redefined by an organization."
            )
        if role_id in seen:
            raise errors.InvalidRole(f"role_id {role_id!r} appears more than once.")
        seen.add(role_id)
        description = role.get("description", "")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise errors.InvalidArgument(f"description may be at most {MAX_DESCRIPTION_LENGTH} characters.")
        cleaned.append(
            {
                "role_id": role_id,
                "description": description,
                "permissions": [_permission(role_id, p) for p in role.get("permissions", [])],
            }
        )
    return cleaned


def _permission(role_id: str, permission: dict[str, Any]) -> dict[str, Any]:
    resource_id = permission["resource_id"]
    actions = list(permission["actions"])
    if not resource_id.strip():
        raise errors.InvalidArgument(f"Role {role_id!r}: resource_id may not be empty.")
    if not actions or any(not a.strip() for a in actions):
        raise errors.InvalidArgument(f"Role {role_id!r}: actions on {resource_id!r} must be non-empty strings.")
    if resource_id.startswith(RESERVED_RESOURCE_PREFIX):
        known = RESOURCES.get(resource_id)
        if known is None:
            raise errors.InvalidArgument(f"Role {role_id!r}: resource {resource_id!r} does not exist.")
        unknown = [a for a in actions if a != "*" and a not in known[1]]
        if unknown:
            raise errors.InvalidArgument(
                f"Role {role_id!r}: {resource_id!r} has no action(s) {', '.join(map(repr, unknown))}."
            )
    return {"resource_id": resource_id, "actions": actions}


def set_custom_roles(
    conn: Connection, *, project_id: str, organization_id: str, roles: list[dict[str, Any]], now: datetime
) -> None:
    conn.execute(
        organizations.update()
        .where(organizations.c.project_id == project_id, organizations.c.organization_id == organization_id)
        .values(custom_roles=roles, updated_at=now)
    )
