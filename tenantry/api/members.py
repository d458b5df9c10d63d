"""Member routes: create, get, update, delete, reactivate, search, dangerously_get."""

from __future__ import annotations

from typing import Any

from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.models import Request
from tenantry.api.organizations import actor_of, results_metadata
from tenantry.members import service


class MemberCreate(Request):
    email_address: str
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    create_member_as_pending: bool | None = None
    is_breakglass: bool | None = None
    mfa_phone_number: str | None = None
    mfa_enrolled: bool | None = None
    roles: list[str] | None = None
    external_id: str | None = None


class MemberUpdate(Request):
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    is_breakglass: bool | None = None
    mfa_phone_number: str | None = None
    mfa_enrolled: bool | None = None
    roles: list[str] | None = None
    preserve_existing_sessions: bool | None = None
    default_mfa_method: str | None = None
    email_address: str | None = None
    external_id: str | None = None
    unlink_email: bool | None = None


class MemberSearch(Request):
    organization_ids: list[str]
    cursor: str | None = None
    limit: int | None = None
    query: dict[str, Any] | None = None


def create(call: Call, body: MemberCreate) -> dict[str, Any]:
    member, org = service.create(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        fields=body.model_dump(exclude_unset=True),
        actor=actor_of(call),
    )
    return wire.member_and_organization(member, org)


def get(call: Call, _body: None) -> dict[str, Any]:
    member, org = service.get(
        call.conn,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_id=call.query.get("member_id"),
        email_address=call.query.get("email_address"),
    )
    return wire.member_and_organization(member, org)


def update(call: Call, body: MemberUpdate) -> dict[str, Any]:
    member, org = service.update(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_reference=call.path_params["member_id"],
        fields=body.model_dump(exclude_unset=True, exclude={"preserve_existing_sessions"}),
        actor=actor_of(call),
    )
    return wire.member_and_organization(member, org)


def delete(call: Call, _body: None) -> dict[str, Any]:
    member_id = service.delete(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_reference=call.path_params["member_id"],
        actor=actor_of(call),
    )
    return {"member_id": member_id}


def reactivate(call: Call, _body: None) -> dict[str, Any]:
    member, org = service.reactivate(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_reference=call.path_params["member_id"],
        actor=actor_of(call),
    )
    return wire.member_and_organization(member, org)


def search(call: Call, body: MemberSearch) -> dict[str, Any]:
    page = service.search(
        call.conn,
        project_id=call.project.project_id,
        organization_ids=body.organization_ids,
        query=body.query,
        cursor=body.cursor,
        limit=body.limit,
        actor=actor_of(call),
    )
    return {
        "members": [wire.member(m) for m in page.members],
        "results_metadata": results_metadata(page.total, page.next_cursor),
        "organizations": {oid: wire.organization(o) for oid, o in page.organizations.items()},
    }


def dangerously_get(call: Call, _body: None) -> dict[str, Any]:
    member, org = service.dangerously_get(
        call.conn,
        project_id=call.project.project_id,
        member_id=call.path_params["member_id"],
        include_deleted=call.query.get("include_deleted", "").lower() == "true",
    )
    return wire.member_and_organization(member, org)
