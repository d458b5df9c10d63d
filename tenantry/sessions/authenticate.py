"""``sessions.authenticate``: is this session alive, and may its member do this?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.members import store as members
from tenantry.members.models import ACTIVE, Member
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import granting_roles, session_roles
from tenantry.sessions import service as sessions
from tenantry.sessions.models import MemberSession


@dataclass(frozen=True)
class AuthenticatedSession:
    session: MemberSession
    session_jwt: str
    member: Member
    organization: Organization
    roles: list[str]
    verdict: dict[str, Any] | None


def authenticate_session(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None = None,
    session_custom_claims: dict[str, Any] | None = None,
    authorization_check: dict[str, str] | None = None,
) -> AuthenticatedSession:
    session = sessions.find_live_session(
        conn, clock, project_id=project_id, session_token=session_token, session_jwt_value=session_jwt
    )
    member = members.get(conn, project_id, session.member_id)
    organization = organizations.get(conn, project_id, session.organization_id)
    if member is None or organization is None or member.status != ACTIVE:
        raise errors.SessionNotFound()
    roles = session_roles(member.roles)
    verdict = None
    if authorization_check is not None:
        verdict = check_authorization(roles, organization, authorization_check)
    session, jwt_value = sessions.refresh_session(
        conn,
        clock,
        session,
        member=member,
        organization=organization,
        duration_minutes=session_duration_minutes,
        claims_update=session_custom_claims,
    )
    return AuthenticatedSession(session, jwt_value, member, organization, roles, verdict)


def check_authorization(roles: list[str], organization: Organization, check: dict[str, str]) -> dict[str, Any]:
    if check["organization_id"] != organization.organization_id:
        raise errors.SessionAuthorizationTenancyError()
    granting = granting_roles(roles, check["resource_id"], check["action"], organization.custom_roles)
    if not granting:
        raise errors.SessionAuthorizationError()
    return {"authorized": True, "granting_roles": granting}
