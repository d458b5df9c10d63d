"""Organization routes: create, get, update, delete, search."""

from __future__ import annotations

from typing import Any

from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.models import OrganizationSettingsFields, Request
from tenantry.organizations import service
from tenantry.rbac.acting_member import ActingMember, acting_member


class OrganizationCreate(OrganizationSettingsFields):
    organization_name: str
    organization_slug: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    organization_external_id: str | None = None
    claimed_email_domains: list[str] | None = None


class OrganizationUpdate(OrganizationSettingsFields):
    organization_name: str | None = None
    organization_slug: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    organization_external_id: str | None = None
    sso_default_connection_id: str | None = None
    sso_jit_provisioning_allowed_connections: list[str] | None = None
    claimed_email_domains: list[str] | None = None


class OrganizationSearch(Request):
    cursor: str | None = None
    limit: int | None = None
    query: dict[str, Any] | None = None


def actor_of(call: Call) -> ActingMember | None:
    return acting_member(call.conn, call.runtime.clock, project_id=call.project.project_id, headers=call.headers)


def create(call: Call, body: OrganizationCreate) -> dict[str, Any]:
    org = service.create(
        call.conn, call.runtime.clock, project_id=call.project.project_id, fields=body.model_dump(exclude_unset=True)
    )
    return {"organization": wire.organization(org)}


def get(call: Call, _body: None) -> dict[str, Any]:
    org = service.get(call.conn, project_id=call.project.project_id, reference=call.path_params["organization_id"])
    return {"organization": wire.organization(org)}


def update(call: Call, body: OrganizationUpdate) -> dict[str, Any]:
    org = service.update(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        reference=call.path_params["organization_id"],
        fields=body.model_dump(exclude_unset=True),
        actor=actor_of(call),
    )
    return {"organization": wire.organization(org)}


def delete(call: Call, _body: None) -> dict[str, Any]:
    organization_id = service.delete(
        call.conn,
        project_id=call.project.project_id,
        reference=call.path_params["organization_id"],
        actor=actor_of(call),
    )
    return {"organization_id": organization_id}


def search(call: Call, body: OrganizationSearch) -> dict[str, Any]:
    page = service.search(
        call.conn, project_id=call.project.project_id, query=body.query, cursor=body.cursor, limit=body.limit
    )
    return {
        "organizations": [wire.organization(o) for o in page.organizations],
        "results_metadata": results_metadata(page.total, page.next_cursor),
    }


def results_metadata(total: int, next_cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"total": total}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return body
