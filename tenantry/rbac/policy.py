"""Stytch's default RBAC policy and the permission check the SDKs also run locally."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tenantry import errors

if TYPE_CHECKING:
    from tenantry.organizations.models import Organization

STYTCH_ADMIN = "stytch_admin"
STYTCH_MEMBER = "stytch_member"

# Current action names, as Stytch's own Admin Portal uses them.
RESOURCES: dict[str, tuple[str, list[str]]] = {
    "stytch.organization": (
        "Standard Stytch resource for the Organization object.",
        [
            "update.info.name", "update.info.slug", "update.info.logo-url",
            "update.settings.allowed-auth-methods", "update.settings.allowed-mfa-methods",
            "update.settings.email-jit-provisioning", "update.settings.email-invites",
            "update.settings.allowed-domains", "update.settings.default-sso-connection",
            "update.settings.sso-jit-provisioning", "update.settings.mfa-policy",
            "update.settings.implicit-roles", "update.settings.oauth-tenant-jit-provisioning",
            "update.settings.allowed-oauth-tenants", "delete",
        ],
    ),
    "stytch.member": (
        "Standard Stytch resource for Members of an Organization.",
        [
            "create", "update.info.name", "update.info.email", "update.info.untrusted-metadata",
            "update.info.mfa-phone", "update.info.delete.mfa-phone", "update.info.delete.mfa-totp",
            "update.info.delete.password", "update.settings.is-breakglass",
            "update.settings.mfa-enrolled", "update.settings.default-mfa-method",
            "update.settings.roles", "search", "delete", "revoke-sessions",
        ],
    ),
    "stytch.sso": ("Standard Stytch resource for SSO connections.", ["create", "get", "update", "delete"]),
    "stytch.scim": ("Standard Stytch resource for SCIM connections.", ["create", "get", "update", "delete"]),
    "stytch.self": (
        "Standard Stytch resource for the Member making the request.",
        [
            "update.info.name", "update.info.untrusted-metadata", "update.info.mfa-phone",
            "update.info.delete.mfa-phone", "update.info.delete.password",
            "update.info.delete.mfa-totp", "update.settings.mfa-enrolled",
            "update.settings.default-mfa-method", "delete", "revoke-sessions",
        ],
    ),
    "stytch.custom-org-roles": (
        "Standard Stytch resource for organization-scoped custom roles.",
        ["create", "get", "update", "delete"],
    ),
}  # fmt: skip

DEFAULT_ROLES: list[dict[str, Any]] = [
    {
        "role_id": STYTCH_MEMBER,
        "description": "Granted to all Members upon creation; grants permissions already implicitly "
        "granted to logged in Members via the SDK.",
        "permissions": [{"resource_id": "stytch.self", "actions": ["*"]}],
    },
    {
        "role_id": STYTCH_ADMIN,
        "description": "Granted to Members who create an organization through the Stytch discovery flow. "
        "Admins will also have the stytch_member role.",
        "permissions": [{"resource_id": resource, "actions": ["*"]} for resource in RESOURCES],
    },
]


def project_policy() -> dict[str, Any]:
    return {
        "roles": DEFAULT_ROLES,
        "resources": [
            {"resource_id": rid, "description": desc, "actions": list(actions)}
            for rid, (desc, actions) in RESOURCES.items()
        ],
        "scopes": [],
    }


def session_roles(explicit_roles: Iterable[str]) -> list[str]:
    """Every member holds stytch_member; explicit roles follow in assignment order."""
    roles = [STYTCH_MEMBER]
    roles.extend(r for r in explicit_roles if r != STYTCH_MEMBER)
    return roles


def granting_roles(
    roles: Iterable[str], resource_id: str, action: str, org_roles: Iterable[dict[str, Any]] = ()
) -> list[str]:
    """The roles among ``roles`` that grant ``action`` on ``resource_id`` (deny by default)."""
    by_id = {r["role_id"]: r for r in [*DEFAULT_ROLES, *org_roles]}
    granting = []
    for role_id in roles:
        role = by_id.get(role_id)
        if role is None:
            continue
        for permission in role["permissions"]:
            if permission["resource_id"] == resource_id and (
                "*" in permission["actions"] or action in permission["actions"]
            ):
                granting.append(role_id)
                break
    return granting


def role_exists(org: Organization, role_id: str) -> bool:
    """Whether members of ``org`` may be given ``role_id``: one of Stytch's default roles or one
    of the organization's custom roles."""
    return any(r["role_id"] == role_id for r in [*DEFAULT_ROLES, *org.custom_roles])


def validate_roles(org: Organization, roles: list[str]) -> list[str]:
    """Explicit role ids for a member of ``org``: Stytch's default roles or the organization's
    custom roles, never ``stytch_member`` (every member holds it). Duplicates collapse."""
    out: list[str] = []
    for role in roles:
        if role == STYTCH_MEMBER:
            raise errors.CannotAssignDefaultRbacRoleId()
        if not role_exists(org, role):
            raise errors.InvalidRole(f"Role '{role[:64]}' does not exist in this organization's RBAC policy.")
        if role not in out:
            out.append(role)
    return out
