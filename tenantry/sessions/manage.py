"""Managing member sessions: list a member's live sessions, revoke them, and switch a session
to another organization of the same person (``sessions.get`` / ``revoke`` / ``exchange``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.db.schema import member_sessions
from tenantry.db.schema import members as members_table
from tenantry.discovery.models import AuthOutcome
from tenantry.members import store as members
from tenantry.members.models import ACTIVE, DELETED, Member
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.rbac.acting_member import acting_member, authorize
from tenantry.sessions import service as sessions
from tenantry.sessions.entry import enter_organization
from tenantry.sessions.models import MemberSession

# Factors that prove the email address itself, so they hold in any organization the same
# address belongs to. Second factors (TOTP, SMS) are enrolled per membership and stay behind.
PORTABLE_FACTOR_TYPES = {"magic_link", "email_otp", "oauth"}


def _organization(conn: Connection, project_id: str, reference: str) -> Organization:
    org = organizations.get_by_reference(conn, project_id, reference)
    if org is None:
        raise errors.OrganizationNotFound()
    return org


def _member_in(conn: Connection, project_id: str, organization_id: str, reference: str) -> Member:
    """A member of the organization by member id or external id."""
    member_id = conn.execute(
        sa.select(members_table.c.member_id)
        .where(
            members_table.c.project_id == project_id,
            members_table.c.organization_id == organization_id,
            sa.or_(members_table.c.member_id == reference, members_table.c.external_id == reference),
        )
        .limit(1)
    ).scalar()
    member = members.get(conn, project_id, member_id) if member_id else None
    if member is None:
        raise errors.MemberNotFound()
    return member


def _live(clock: Clock) -> list[Any]:
    return [member_sessions.c.revoked_at.is_(None), member_sessions.c.expires_at > clock.now()]


# -- list --------------------------------------------------------------------------------------


def list_sessions(
    conn: Connection, clock: Clock, *, project_id: str, organization_reference: str, member_reference: str
) -> tuple[Organization, Member, list[MemberSession]]:
    org = _organization(conn, project_id, organization_reference)
    member = _member_in(conn, project_id, org.organization_id, member_reference)
    rows = conn.execute(
        sa.select(member_sessions)
        .where(
            member_sessions.c.project_id == project_id,
            member_sessions.c.organization_id == org.organization_id,
            member_sessions.c.member_id == member.member_id,
            *_live(clock),
        )
        .order_by(member_sessions.c.started_at, member_sessions.c.member_session_id)
    )
    return org, member, [sessions.session_from_row(r) for r in rows]


# -- revoke ------------------------------------------------------------------------------------


def revoke(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    headers: Mapping[str, str],
    member_session_id: str | None,
    session_token: str | None,
    session_jwt: str | None,
    member_id: str | None,
) -> None:
    given = [v for v in (member_session_id, session_token, session_jwt, member_id) if v]
    if not given:
        raise errors.NoSessionRevokeArguments()
    if len(given) > 1:
        raise errors.TooManySessionRevokeArguments()

    if member_id:
        target = members.get(conn, project_id, member_id)
        if target is None:
            raise errors.MemberNotFound()
        target_member_id, target_org_id = target.member_id, target.organization_id
        session_id: str | None = None
    else:
        if member_session_id:
            row = conn.execute(
                sa.select(member_sessions).where(
                    member_sessions.c.project_id == project_id,
                    member_sessions.c.member_session_id == member_session_id,
                    *_live(clock),
                )
            ).first()
            if row is None:
                raise errors.SessionNotFound()
            session = sessions.session_from_row(row)
        else:
            session = sessions.find_live_session(
                conn, clock, project_id=project_id, session_token=session_token, session_jwt_value=session_jwt
            )
        target_member_id, target_org_id = session.member_id, session.organization_id
        session_id = session.member_session_id

    actor = acting_member(conn, clock, project_id=project_id, headers=headers)
    if actor is not None:
        own = actor.member.member_id == target_member_id
        authorize(
            actor,
            organization_id=target_org_id,
            resource_id="stytch.self" if own else "stytch.member",
            action="revoke-sessions",
        )

    query = member_sessions.update().where(
        member_sessions.c.project_id == project_id, member_sessions.c.revoked_at.is_(None)
    )
    if session_id is not None:
        query = query.where(member_sessions.c.member_session_id == session_id)
    else:
        query = query.where(member_sessions.c.member_id == target_member_id)
    conn.execute(query.values(revoked_at=clock.now()))


# -- exchange ----------------------------------------------------------------------------------


def exchange(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    """Enter another organization as the same person, with the factors of the current session.

    The person must already be a member there (active, or invited/pending: proving the email
    accepts the invitation); unlike an IST exchange this never joins by email domain. Entry goes
    through the same requirements as discovery: a full session when the target organization's
    auth methods and MFA policy are met, otherwise an IST carrying the portable factors."""
    session = sessions.find_live_session(
        conn, clock, project_id=project_id, session_token=session_token, session_jwt_value=session_jwt
    )
    current = members.get(conn, project_id, session.member_id)
    if current is None or current.status != ACTIVE:
        raise errors.SessionNotFound()
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)
    org = _organization(conn, project_id, organization_reference)
    member = members.get_by_email(conn, project_id, org.organization_id, current.email_address)
    if member is None or member.status == DELETED:
        raise errors.MemberDoesNotExistInOrganization()
    if member.status != ACTIVE:
        members.activate(conn, member.member_id, clock.now())
        member = members.get(conn, project_id, member.member_id) or member
    factors = [f for f in session.authentication_factors if f.get("type") in PORTABLE_FACTOR_TYPES]
    return enter_organization(
        conn,
        clock,
        member=member,
        organization=org,
        factors=factors,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        locale=locale,
    )
