"""Completing MFA: a verified second factor turns an intermediate session into a member
session, or is added to an existing session (step-up).

Every second factor ends here: TOTP and recovery codes (``tenantry.mfa``) and SMS OTP
(``tenantry.sms`` imports ``complete_with_second_factor``). The factor's own module checks its
code first (attempt limits, single use) and then calls this with the factor in Stytch's wire
shape, e.g. ``{"type": "otp", "delivery_method": "sms", "phone_number_factor": {...}}`` (use
``second_factor`` to build it). Everything runs in the caller's transaction, so an error raised
here also undoes the code's consumption.

With an ``intermediate_session_token``: the IST must be live, belong to this member's email and
(if bound) to this organization, and carry the organization's primary factor; it is consumed and
a member session is issued with the IST's factors plus the new one, which must then meet every
requirement of ``tenantry.sessions.requirements``. With ``session_token``/``session_jwt``: the
member's live session gains the factor and is refreshed (extended when
``session_duration_minutes`` is given). With neither there is no primary authentication to
complete, which Stytch refuses.

``method`` ("totp" or "sms_otp"; None for recovery codes) is the MFA method being used: the first
completion with a method makes it the member's ``default_mfa_method`` (Stytch does so), and
``set_default_mfa`` / ``set_mfa_enrollment`` ("enroll" / "unenroll", ignored when the
organization requires MFA of everyone) change the member as Stytch's request fields say.

Pre-emptive SMS: when a primary factor leaves MFA outstanding and the member has an MFA phone,
``tenantry.sessions.entry.enter_organization`` sends the SMS code itself (as Stytch does) and
reports ``secondary_auth_initiated: "sms_otp"``; that call goes to the SMS area's sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.members import store as members
from tenantry.members.models import ACTIVE, Member
from tenantry.organizations.models import Organization
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sessions.models import IntermediateSession, IssuedSession, MemberSession

ENROLLMENT_CHOICES = ("enroll", "unenroll")
# Factors that prove who the person is (the organization's primary authentication).
PRIMARY_FACTOR_TYPES = {"magic_link", "email_otp", "oauth", "sso", "password"}


@dataclass(frozen=True)
class Completion:
    member: Member
    organization: Organization
    issued: IssuedSession


def second_factor(kind: str, delivery_method: str, when: str, **details: dict[str, str]) -> dict[str, Any]:
    """A second factor in Stytch's wire shape, e.g.
    ``second_factor("totp", "authenticator_app", now, authenticator_app_factor={"totp_id": id})``."""
    return {
        "type": kind,
        "delivery_method": delivery_method,
        "last_authenticated_at": when,
        "created_at": when,
        "updated_at": when,
        **details,
    }


def check_member_may_use_mfa(member: Member) -> None:
    if member.status != ACTIVE:
        raise errors.ActionAvailableOnlyForActiveMembers()


def validate_options(
    *,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    set_mfa_enrollment: str | None = None,
) -> None:
    """The request's own options, checked before any code is (a malformed request spends
    nothing)."""
    if set_mfa_enrollment is not None and set_mfa_enrollment not in ENROLLMENT_CHOICES:
        raise errors.InvalidArgument("set_mfa_enrollment must be one of enroll, unenroll.")
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)


def complete_with_second_factor(
    conn: Connection,
    clock: Clock,
    *,
    organization: Organization,
    member: Member,
    factor: dict[str, Any],
    method: str | None,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    set_mfa_enrollment: str | None = None,
    set_default_mfa: bool = False,
) -> Completion:
    check_member_may_use_mfa(member)
    validate_options(
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        set_mfa_enrollment=set_mfa_enrollment,
    )
    if intermediate_session_token and (session_token or session_jwt):
        raise errors.TooManySessionArguments()
    member = _apply_member_choices(conn, clock, organization, member, method, set_mfa_enrollment, set_default_mfa)
    if intermediate_session_token:
        ist = sessions.live_intermediate_session(
            conn, clock, project_id=member.project_id, token=intermediate_session_token
        )
        issued = _complete_intermediate_session(
            conn, clock, ist, organization, member, factor, session_duration_minutes, session_custom_claims
        )
    elif session_token or session_jwt:
        issued = _step_up(
            conn,
            clock,
            organization,
            member,
            factor,
            session_token=session_token,
            session_jwt=session_jwt,
            duration_minutes=session_duration_minutes,
            claims=session_custom_claims,
        )
    else:
        raise errors.ActionAvailableOnlyOncePrimaryAuthenticationIsMet()
    return Completion(member, organization, issued)


def _with_factor(factors: list[dict[str, Any]], factor: dict[str, Any]) -> list[dict[str, Any]]:
    """The factors plus ``factor``, replacing an earlier factor of the same type."""
    return [f for f in factors if f.get("type") != factor["type"]] + [factor]


def _complete_intermediate_session(
    conn: Connection,
    clock: Clock,
    ist: IntermediateSession,
    organization: Organization,
    member: Member,
    factor: dict[str, Any],
    duration_minutes: int | None,
    claims: dict[str, Any] | None,
) -> IssuedSession:
    if ist.email_address != member.email_address or ist.organization_id not in (None, organization.organization_id):
        raise errors.InvalidIntermediateSessionTokenForOrganization()
    if not any(f.get("type") in PRIMARY_FACTOR_TYPES for f in ist.authentication_factors):
        raise errors.ActionAvailableOnlyOncePrimaryAuthenticationIsMet()
    factors = _with_factor(sessions.bind_factors(ist.authentication_factors, member), factor)
    needs = requirements.evaluate(organization, factors, member)
    if needs.primary_required is not None:
        raise errors.ActionAvailableOnlyOncePrimaryAuthenticationIsMet()
    if needs.mfa_required is not None:
        # The factor is of a method the organization does not accept.
        raise errors.OperationRestrictedByOrganizationMfaMethods()
    sessions.consume_intermediate_session(conn, clock, ist)
    return sessions.start_member_session(
        conn,
        clock,
        member=member,
        organization=organization,
        factors=factors,
        duration_minutes=duration_minutes,
        claims=claims,
    )


def _step_up(
    conn: Connection,
    clock: Clock,
    organization: Organization,
    member: Member,
    factor: dict[str, Any],
    *,
    session_token: str | None,
    session_jwt: str | None,
    duration_minutes: int | None,
    claims: dict[str, Any] | None,
) -> IssuedSession:
    session: MemberSession = sessions.find_live_session(
        conn, clock, project_id=member.project_id, session_token=session_token, session_jwt_value=session_jwt
    )
    if session.member_id != member.member_id or session.organization_id != organization.organization_id:
        # Another member's session proves nothing about this one.
        raise errors.SessionNotFound()
    session = sessions.set_factors(conn, session, _with_factor(session.authentication_factors, factor))
    session, jwt_value = sessions.refresh_session(
        conn,
        clock,
        session,
        member=member,
        organization=organization,
        duration_minutes=duration_minutes,
        claims_update=claims,
    )
    # Only digests of session tokens are kept: the token can be echoed only when it was sent.
    return IssuedSession(session, session_token or "", jwt_value)


def _apply_member_choices(
    conn: Connection,
    clock: Clock,
    organization: Organization,
    member: Member,
    method: str | None,
    set_mfa_enrollment: str | None,
    set_default_mfa: bool,
) -> Member:
    values: dict[str, Any] = {}
    if method is not None and (set_default_mfa or not member.default_mfa_method):
        values["default_mfa_method"] = method
    if set_mfa_enrollment is not None and organization.setting("mfa_policy") != "REQUIRED_FOR_ALL":
        values["mfa_enrolled"] = set_mfa_enrollment == "enroll"
    values = {k: v for k, v in values.items() if getattr(member, k) != v}
    if not values:
        return member
    members.change(conn, member.project_id, member.member_id, {**values, "updated_at": clock.now()})
    return members.get(conn, member.project_id, member.member_id) or member
