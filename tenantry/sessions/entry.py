"""Entering an organization: a full member session when the factors in hand meet the
organization's requirements, otherwise an intermediate session that says what is missing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.discovery.models import AuthOutcome
from tenantry.members.models import Member
from tenantry.mfa.vault import process_vault
from tenantry.organizations.models import Organization
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sessions.models import IntermediateSession
from tenantry.sms import messages
from tenantry.sms import service as sms


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
    locale: str | None = None,
) -> AuthOutcome:
    """``spent_ist`` is an IST the caller already consumed in this transaction: when the
    requirements are not met it is released and handed back (Stytch returns the same IST);
    otherwise a fresh IST bound to the organization carries the factors forward.

    When only MFA is missing and the member has an MFA phone, the SMS code is sent right away
    (in ``locale``), as Stytch does, and ``mfa_required.secondary_auth_initiated`` says so."""
    needs = requirements.evaluate(organization, factors, member)
    if needs.primary_required is None and needs.mfa_required is not None:
        needs = _start_sms(conn, clock, needs, member, organization, locale)
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


def _start_sms(
    conn: Connection,
    clock: Clock,
    needs: requirements.Requirements,
    member: Member,
    organization: Organization,
    locale: str | None,
) -> requirements.Requirements:
    if not member.mfa_phone_number or "sms_otp" not in requirements.allowed_mfa_methods(organization):
        return needs
    try:
        sms_locale: str | None = messages.validate_locale(locale)
    except errors.InvalidArgument:
        # A locale the texts are not written in falls back to the default: the login proceeds.
        sms_locale = None
    sms.queue_passcode(
        conn, clock, process_vault(conn), member=member, phone_number=member.mfa_phone_number, locale=sms_locale
    )
    return replace(needs, mfa_required={**(needs.mfa_required or {}), "secondary_auth_initiated": "sms_otp"})
