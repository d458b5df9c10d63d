"""RBAC policy routes (the SDKs call both during local authorization checks)."""

from __future__ import annotations

from typing import Any

from tenantry import errors
from tenantry.api.endpoint import Call
from tenantry.organizations import store as organizations
from tenantry.rbac.policy import project_policy


def policy(call: Call, _body: None) -> dict[str, Any]:
    return {"policy": project_policy()}


def organization_policy(call: Call, _body: None) -> dict[str, Any]:
    org = organizations.get(call.conn, call.project.project_id, call.path_params["organization_id"])
    if org is None:
        raise errors.OrganizationNotFound()
    return {"org_policy": {"roles": list(org.custom_roles)}}
