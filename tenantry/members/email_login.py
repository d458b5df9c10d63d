"""Logging in to one organization by email, whichever way the email is proven (magic link or
email OTP): who may be sent a login or signup email, and what a proven email then yields.

admit (send time) ------> member pending (new, JIT) or existing --+
complete (proof in hand) -> member active + session, or an IST ---+--> enter_organization
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock, rfc3339
from tenantry.discovery.models import AuthOutcome
from tenantry.members import store as members
from tenantry.members.jit import refuse_unless_jit_allowed
from tenantry.members.models import ACTIVE, DELETED, PENDING, Member, email_domain, new_member
from tenantry.organizations.models import Organization
from tenantry.projects.service import Project
from tenantry.sessions import service as sessions
from tenantry.sessions.entry import enter_organization

# Organization auth method -> how the refusal names it.
METHOD_NAMES = {"magic_link": "email magic links", "email_otp": "email one-time passcodes"}


@dataclass(frozen=True)
class LoginOrSignupResult:
    member: Member
    organization: Organization
    member_created: bool

    @property
    def is_login(self) -> bool:
        """An active member gets a login email; anyone else a signup email."""
        return self.member.status == ACTIVE


def admit(
    conn: Connection, clock: Clock, *, project: Project, org: Organization, email: str, method: str
) -> LoginOrSignupResult:
    """The member a login-or-signup email goes to, created as ``pending`` when the organization
    lets this email join by its domain (JIT provisioning)."""
    if org.setting("auth_methods") == "RESTRICTED" and method not in org.setting("allowed_auth_methods"):
        raise errors.OperationRestrictedByAuthMethods(
            f"This organization does not allow {METHOD_NAMES[method]} as an authentication method."
        )
    member = members.get_by_email(conn, project.project_id, org.organization_id, email)
    created = False
    if member is None or member.status == DELETED:
        refuse_unless_jit_allowed(
            org,
            domain_admitted=email_domain(email) in org.allowed_domains,
            previously_deleted=member is not None,
        )
        member, created = members.insert_or_existing(
            conn,
            new_member(
                project_id=project.project_id,
                organization_id=org.organization_id,
                email_address=email,
                status=PENDING,
                email_verified=False,
                now=clock.now(),
            ),
        )
    return LoginOrSignupResult(member, org, created)


def complete(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    member: Member,
    organization: Organization,
    factor_type: str,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    """The member proved their email with ``factor_type`` (``magic_link`` or ``email_otp``).

    Proving the email activates a pending or invited member. Factors of an IST or of the
    member's own session are carried over; the organization's requirements then decide between
    a session and an IST (``enter_organization``).
    """
    now = clock.now()
    if member.status != ACTIVE or not member.email_verified:
        members.activate(conn, member.member_id, now)
        # Exactly the row just written (activate's three columns): no need to read it back.
        member = dataclasses.replace(member, status=ACTIVE, email_verified=True, updated_at=now)
    factors = [sessions.email_factor(factor_type, member.email_address, rfc3339(now) or "", member.email_id)]
    spent_ist = None
    if intermediate_session_token:
        ist = sessions.live_intermediate_session(
            conn, clock, project_id=project.project_id, token=intermediate_session_token
        )
        if ist.email_address != member.email_address:
            raise errors.IntermediateSessionNotFound()
        sessions.consume_intermediate_session(conn, clock, ist)
        factors = [f for f in ist.authentication_factors if f["type"] != factor_type] + factors
        spent_ist = (ist, intermediate_session_token)
    elif session_token or session_jwt:
        existing = sessions.find_live_session(
            conn, clock, project_id=project.project_id, session_token=session_token, session_jwt_value=session_jwt
        )
        # A session of the same member is replaced by one carrying both factors; another
        # member's session is ignored, as Stytch does.
        if existing.member_id == member.member_id:
            factors = [f for f in existing.authentication_factors if f["type"] != factor_type] + factors
            sessions.revoke_session(conn, clock, existing.member_session_id)
    return enter_organization(
        conn,
        clock,
        member=member,
        organization=organization,
        factors=factors,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        spent_ist=spent_ist,
        locale=locale,
    )
