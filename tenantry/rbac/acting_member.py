"""Calls made on behalf of a member (``X-Stytch-Member-Session`` / ``X-Stytch-Member-SessionJWT``).

Without these headers a call carries the project secret and is fully privileged. With them,
the member's session must be alive, belong to the organization being touched, and its roles
must grant the action; otherwise nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.members import store as members
from tenantry.members.models import ACTIVE, Member
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import granting_roles, session_roles
from tenantry.sessions import service as sessions
from tenantry.sessions.models import MemberSession

SESSION_HEADER = "x-stytch-member-session"
SESSION_JWT_HEADER = "x-stytch-member-sessionjwt"


class MemberSessionInvalid(errors.Unauthorized):
    error_type = "unauthorized_credentials"
    error_message = "The member session in X-Stytch-Member-Session(JWT) is unknown, expired or revoked."


@dataclass(frozen=True)
class ActingMember:
    member: Member
    organization: Organization
    session: MemberSession
    roles: list[str]

    def may(self, resource_id: str, action: str) -> bool:
        return bool(granting_roles(self.roles, resource_id, action, self.organization.custom_roles))


def acting_member(
    conn: Connection, clock: Clock, *, project_id: str, headers: Mapping[str, str]
) -> ActingMember | None:
    token = headers.get(SESSION_HEADER)
    jwt_value = headers.get(SESSION_JWT_HEADER)
    if not token and not jwt_value:
        return None
    try:
        # Both headers may come together (the SDKs send both when both are set); the opaque
        # token is authoritative then.
        session = sessions.find_live_session(
            conn,
            clock,
            project_id=project_id,
            session_token=token or None,
            session_jwt_value=None if token else jwt_value,
        )
    except errors.SessionNotFound:
        raise MemberSessionInvalid() from None
    found = members.get_with_organization(conn, project_id, session.member_id, session.organization_id)
    if found is None or found[0].status != ACTIVE:
        raise MemberSessionInvalid()
    member, organization = found
    return ActingMember(member, organization, session, session_roles(member.roles))


def authorize(actor: ActingMember | None, *, organization_id: str, resource_id: str, action: str) -> None:
    """Refuse unless the acting member (if any) may do ``action`` on ``resource_id`` here."""
    if actor is None:
        return
    if actor.organization.organization_id != organization_id:
        # Another organization's member learns nothing, not even that the organization exists.
        raise errors.OrganizationNotFound()
    if not actor.may(resource_id, action):
        raise errors.SessionAuthorizationError()
