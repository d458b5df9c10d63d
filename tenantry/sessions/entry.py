"""Entering an organization: a full member session when the factors in hand meet the
organization's requirements, otherwise an intermediate session that says what is missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.discovery.models import AuthOutcome
from tenantry.members.models import Member
from tenantry.organizations.models import Organization
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sessions.models import IntermediateSession


def enter_organization(
    conn: Connection,
    clock: Clock,
    *,
    member: Member,
    organization: Organization,
    factors: list[dict[str, Any]],
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    spent_ist: tuple[IntermediateSession, str] | None = None,
) -> AuthOutcome:
    """``spent_ist`` is an IST the caller already consumed in this transaction: when the
    requirements are not met it is released and handed back (Stytch returns the same IST);
    otherwise a fresh IST bound to the organization carries the factors forward."""
    needs = requirements.evaluate(organization, factors, member)
    if not needs.satisfied:
        if spent_ist is not None:
            ist, token = spent_ist
            sessions.release_intermediate_session(conn, ist, organization.organization_id)
        else:
            token, _ = sessions.create_intermediate_session(
                conn,
                clock,
                project_id=member.project_id,
                email=member.email_address,
                factors=sessions.bind_factors(factors, member),
                organization_id=organization.organization_id,
            )
        return AuthOutcome(member, organization, None, token, needs)
    issued = sessions.start_member_session(
        conn,
        clock,
        member=member,
        organization=organization,
        factors=factors,
        duration_minutes=session_duration_minutes,
        claims=session_custom_claims,
    )
    return AuthOutcome(member, organization, issued, "", needs)
