"""RBAC policy routes (the SDKs call both GETs during local authorization checks)."""

from __future__ import annotations

from typing import Any

from tenantry import errors
from tenantry.api.endpoint import Call
from tenantry.api.models import Request
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.rbac.org_roles import set_custom_roles, validate_org_roles
from tenantry.rbac.policy import project_policy
from tenantry.sandbox import values as sandbox


class PolicyRolePermission(Request):
    resource_id: str
    actions: list[str]


class PolicyRole(Request):
    # All three are required in Stytch's schema (and the SDKs always send them): a role without
    # them is refused, not completed with defaults.
    role_id: str
    description: str
    permissions: list[PolicyRolePermission]


class OrgPolicy(Request):
    roles: list[PolicyRole]


class SetOrgPolicy(Request):
    org_policy: OrgPolicy


def policy(call: Call, _body: None) -> dict[str, Any]:
    return {"policy": project_policy()}


def _organization(call: Call) -> Organization:
    # Stytch accepts the organization's id, slug or external id in the path.
    org = organizations.get_by_reference(call.conn, call.project.project_id, call.path_params["organization_id"])
    if org is None:
        raise errors.OrganizationNotFound()
    return org


def organization_policy(call: Call, _body: None) -> dict[str, Any]:
    if sandbox.is_sandbox_organization(call.project, call.path_params["organization_id"]):
        # The SDKs fetch this during a local authorization check of a sandbox session JWT.
        return {"org_policy": {"roles": []}}
    return {"org_policy": {"roles": list(_organization(call).custom_roles)}}


def set_organization_policy(call: Call, body: SetOrgPolicy) -> dict[str, Any]:
    org = _organization(call)
    roles = validate_org_roles(body.org_policy.model_dump()["roles"])
    set_custom_roles(
        call.conn,
        project_id=call.project.project_id,
        organization_id=org.organization_id,
        roles=roles,
        now=call.runtime.clock.now(),
    )
    return {"org_policy": {"roles": roles}}
