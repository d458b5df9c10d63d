"""Session routes: authenticate, list, revoke, exchange and the (unauthenticated) JWKS."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tenantry import errors
from tenantry.api import models, wire
from tenantry.api.endpoint import Call, ok
from tenantry.api.models import Request as RequestModel
from tenantry.db.engine import read_transaction
from tenantry.projects import service as projects
from tenantry.rbac.policy import session_roles
from tenantry.runtime import Runtime
from tenantry.sessions import keys, manage
from tenantry.sessions.authenticate import authenticate_session


class Revoke(RequestModel):
    member_session_id: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None
    member_id: str | None = None


class Exchange(RequestModel):
    organization_id: str
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


def authenticate(call: Call, body: models.SessionsAuthenticate) -> dict[str, Any]:
    result = authenticate_session(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        authorization_check=body.authorization_check.model_dump() if body.authorization_check else None,
        writable=call.writable,
    )
    response: dict[str, Any] = {
        "member_session": wire.member_session(
            result.session, roles=result.roles, organization_slug=result.organization.slug
        ),
        # Only digests of session tokens are stored, so a token can be echoed back only when the
        # caller presented it; a JWT-authenticated call gets "" (Stytch would return the token).
        "session_token": body.session_token or "",
        "session_jwt": result.session_jwt,
        "member": wire.member(result.member),
        "organization": wire.organization(result.organization),
    }
    if result.verdict is not None:
        response["verdict"] = result.verdict
    return response


def list_sessions(call: Call, _body: None) -> dict[str, Any]:
    organization_id, member_id = call.query.get("organization_id"), call.query.get("member_id")
    if not organization_id or not member_id:
        raise errors.InvalidArgument("organization_id and member_id are required query parameters.")
    org, member, found = manage.list_sessions(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=organization_id,
        member_reference=member_id,
    )
    roles = session_roles(member.roles)
    return {"member_sessions": [wire.member_session(s, roles=roles, organization_slug=org.slug) for s in found]}


def revoke(call: Call, body: Revoke) -> dict[str, Any]:
    manage.revoke(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        headers=call.headers,
        member_session_id=body.member_session_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        member_id=body.member_id,
    )
    return {}


def exchange(call: Call, body: Exchange) -> dict[str, Any]:
    outcome = manage.exchange(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        locale=body.locale,
    )
    return wire.auth_outcome(outcome, session_roles(outcome.member.roles))


async def jwks(request: Request) -> Response:
    """No credentials: the SDKs fetch this bare to verify JWTs locally."""
    runtime: Runtime = request.app.state.runtime
    project_id = request.path_params["project_id"]

    def run() -> list[dict[str, Any]]:
        with read_transaction(runtime.engine) as conn:
            if projects.get_project(conn, project_id) is None:
                raise errors.UnauthorizedCredentials()
            return keys.jwks(conn, project_id, now=runtime.clock.now())

    return ok(request, {"keys": await run_in_threadpool(run)})
