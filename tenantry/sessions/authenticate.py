"""``sessions.authenticate``: is this session alive, and may its member do this?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.db.joined import table_parts
from tenantry.db.prepared import Prepared
from tenantry.db.read_mostly import WriteNeeded
from tenantry.db.schema import member_sessions, members, organizations
from tenantry.members import store as member_store
from tenantry.members.models import ACTIVE, Member
from tenantry.organizations import store as organization_store
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import granting_roles, session_roles
from tenantry.sessions import keys
from tenantry.sessions import service as sessions
from tenantry.sessions.models import MemberSession

# An authenticate records the session's last_accessed_at only when the stored one is at least this
# old (or when it extends the session or changes its claims, which write anyway), so most calls
# are read-only: on SQLite they run in parallel instead of queuing for the one writer. The cost:
# last_accessed_at (in the answer, the JWT and sessions.get) lags the latest access by up to this
# much. It matches the JWT reuse window (tenantry.sessions.jwt.REUSE_SECONDS), whose JWTs already
# carry a last_accessed_at up to that old.
ACCESS_RECORDED_EVERY = timedelta(seconds=30)

_TABLES = (("s_", member_sessions), ("m_", members), ("o_", organizations))


def _joined(column: str) -> sa.Select[Any]:
    """The live session whose ``column`` is ``:value``, its member, its organization and the
    project's active signing kid, in one statement built once (building a statement costs more
    than SQLite takes to run it). The member and organization are joined by the session's own
    keys, and all three are held to the project."""
    project_id = sa.bindparam("project_id")
    return (
        sa.select(
            *(c.label(prefix + c.name) for prefix, table in _TABLES for c in table.c),
            keys.ACTIVE_KID.label("active_kid"),
        )
        .select_from(member_sessions)
        .join(members, members.c.member_id == member_sessions.c.member_id)
        .join(organizations, organizations.c.organization_id == member_sessions.c.organization_id)
        .where(
            member_sessions.c[column] == sa.bindparam("value"),
            member_sessions.c.project_id == project_id,
            member_sessions.c.revoked_at.is_(None),
            member_sessions.c.expires_at > sa.bindparam("now", type_=member_sessions.c.expires_at.type),
            members.c.project_id == project_id,
            organizations.c.project_id == project_id,
        )
    )


_JOINED = {column: Prepared(_joined(column)) for column in ("token_digest", "member_session_id")}


# The session's, member's and organization's columns of a ``_JOINED`` row, apart.
_SPLIT = table_parts(*(table for _, table in _TABLES))


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
    writable: bool = True,
) -> AuthenticatedSession:
    """Raises ``WriteNeeded`` when not ``writable`` and the call must write (see
    ``ACCESS_RECORDED_EVERY``): the caller runs it again in a write transaction."""
    column, value = sessions.live_session_key(
        conn, project_id=project_id, session_token=session_token, session_jwt_value=session_jwt
    )
    row = _JOINED[column].first(
        conn,
        # The signing key is chosen by the wall clock, as keys.active_signing_key does.
        {"value": value, "project_id": project_id, "now": clock.now(), "key_now": datetime.now(UTC)},
    )
    if row is None:
        raise errors.SessionNotFound()
    session_row, member_row, organization_row = _SPLIT(row)
    session = sessions.session_from_row(session_row)
    member = member_store._from_row(member_row)
    organization = organization_store._from_row(organization_row)
    if member.status != ACTIVE:
        raise errors.SessionNotFound()
    roles = session_roles(member.roles)
    verdict = None
    if authorization_check is not None:
        verdict = check_authorization(roles, organization, authorization_check)
    if session_duration_minutes is None and not session_custom_claims and not _access_due(session, clock):
        jwt_value = sessions.jwt_for(conn, clock, session, member, organization, kid=row.active_kid)
        return AuthenticatedSession(session, jwt_value, member, organization, roles, verdict)
    if not writable:
        raise WriteNeeded()
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


def _access_due(session: MemberSession, clock: Clock) -> bool:
    return clock.now() - session.last_accessed_at >= ACCESS_RECORDED_EVERY


def check_authorization(roles: list[str], organization: Organization, check: dict[str, str]) -> dict[str, Any]:
    if check["organization_id"] != organization.organization_id:
        raise errors.SessionAuthorizationTenancyError()
    granting = granting_roles(roles, check["resource_id"], check["action"], organization.custom_roles)
    if not granting:
        raise errors.SessionAuthorizationError()
    return {"authorized": True, "granting_roles": granting}
