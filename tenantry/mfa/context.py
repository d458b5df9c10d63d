"""What every MFA request starts with: the organization and member it names, whether the
organization allows the method, and (for enrolment) proof of the factors the member already has."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.members import store as members
from tenantry.members.models import DELETED, Member
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.rbac.acting_member import ActingMember
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions


def find_member(
    conn: Connection, project_id: str, organization_reference: str, member_reference: str
) -> tuple[Organization, Member] | None:
    """Organization by id, slug or external id; member by id or external id; None if unknown."""
    org = organizations.get_by_reference(conn, project_id, organization_reference)
    if org is None:
        return None
    member = members.get_in_organization(conn, project_id, org.organization_id, member_reference)
    if member is None or member.status == DELETED:
        return None
    return org, member


def organization(conn: Connection, project_id: str, reference: str, actor: ActingMember | None = None) -> Organization:
    """404 ``organization_not_found`` also for a member acting in another organization."""
    org = organizations.get_by_reference(conn, project_id, reference)
    if org is None or (actor is not None and actor.organization.organization_id != org.organization_id):
        raise errors.OrganizationNotFound()
    return org


def member(conn: Connection, org: Organization, reference: str) -> Member:
    found = members.get_in_organization(conn, org.project_id, org.organization_id, reference)
    if found is None or found.status == DELETED:
        raise errors.MemberNotFound()
    return found


def target(
    conn: Connection, project_id: str, organization_reference: str, member_reference: str
) -> tuple[Organization, Member]:
    org = organization(conn, project_id, organization_reference)
    return org, member(conn, org, member_reference)


def require_method(organization: Organization, method: str) -> None:
    if method not in requirements.allowed_mfa_methods(organization):
        raise errors.OperationRestrictedByOrganizationMfaMethods()


def factors_presented(
    conn: Connection,
    clock: Clock,
    *,
    organization: Organization,
    member: Member,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> list[dict[str, Any]] | None:
    """The factors of the IST or session passed along, which must be this member's; None when
    nothing was passed."""
    if intermediate_session_token:
        if session_token or session_jwt:
            raise errors.TooManySessionArguments()
        ist = sessions.live_intermediate_session(
            conn, clock, project_id=member.project_id, token=intermediate_session_token
        )
        if ist.email_address != member.email_address or ist.organization_id not in (
            None,
            organization.organization_id,
        ):
            raise errors.InvalidIntermediateSessionTokenForOrganization()
        return ist.authentication_factors
    if session_token or session_jwt:
        session = sessions.find_live_session(
            conn, clock, project_id=member.project_id, session_token=session_token, session_jwt_value=session_jwt
        )
        if session.member_id != member.member_id:
            raise errors.SessionNotFound()
        return session.authentication_factors
    return None


def require_existing_factor_proven(
    conn: Connection,
    clock: Clock,
    *,
    organization: Organization,
    member: Member,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> None:
    """Enrolling a new factor must not bypass one the member already has: Stytch then wants an
    IST or session carrying that factor; otherwise a token is optional but must be the member's."""
    presented = factors_presented(
        conn,
        clock,
        organization=organization,
        member=member,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
    )
    has_factor = bool(member.totp_registration_id or member.mfa_phone_number_verified)
    if has_factor and not any(f.get("type") in requirements.SECOND_FACTORS for f in presented or []):
        raise errors.InsufficientFactors()
