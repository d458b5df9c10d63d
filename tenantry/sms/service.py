"""SMS OTP as a second factor: send a passcode to a member's phone, check it, and remove the
member's phone (Stytch's ``otps.sms.send`` / ``otps.sms.authenticate`` /
``organizations.members.delete_mfa_phone_number``). Plain functions; HTTP lives in
``tenantry.api.sms``.

Enrolment follows Stytch: sending to a member without a phone links ``mfa_phone_number`` to
them at once (unverified); a correct code marks it verified. A member who has an active MFA
factor (a verified phone or a TOTP registration) must present their intermediate session or
session, so that a caller with only the project secret cannot trigger codes on their behalf;
and linking a new number to a member who already has TOTP needs a session that has completed
a second factor, so that a phone cannot become a way around the authenticator app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock, rfc3339
from tenantry.members import store as members
from tenantry.members.models import DELETED, Member
from tenantry.mfa.complete import check_member_may_use_mfa, second_factor
from tenantry.mfa.vault import Vault
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.projects import service as projects
from tenantry.rbac.acting_member import ActingMember, authorize
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sms import messages, outbox, store
from tenantry.sms.phone import normalise_phone, phone_id

SMS_OTP = "sms_otp"
MEMBER = "stytch.member"
SELF = "stytch.self"
DELETE_PHONE_ACTION = "update.info.delete.mfa-phone"


@dataclass(frozen=True)
class Target:
    organization: Organization
    member: Member


def find_member(conn: Connection, *, project_id: str, organization_reference: str, member_reference: str) -> Target:
    """The organization (id, slug or external id) and its member (id or external id)."""
    org = organizations.get_by_reference(conn, project_id, organization_reference)
    if org is None:
        raise errors.OrganizationNotFound()
    member = members.get_in_organization(conn, project_id, org.organization_id, member_reference)
    if member is None or member.status == DELETED:
        raise errors.MemberNotFound()
    return Target(org, member)


def require_sms_allowed(organization: Organization) -> None:
    if SMS_OTP not in requirements.allowed_mfa_methods(organization):
        raise errors.OperationRestrictedByOrganizationMfaMethods()


def has_active_mfa_factor(member: Member) -> bool:
    return member.mfa_phone_number_verified or bool(member.totp_registration_id)


# -- send ----------------------------------------------------------------------------------------


def send(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    mfa_phone_number: str | None,
    locale: str | None,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    sms_available: bool,
) -> Target:
    locale = messages.validate_locale(locale)
    target = find_member(
        conn, project_id=project_id, organization_reference=organization_reference, member_reference=member_reference
    )
    org, member = target.organization, target.member
    require_sms_allowed(org)
    given = normalise_phone(mfa_phone_number) if mfa_phone_number else None
    proof = _proof_factors(conn, clock, org, member, intermediate_session_token, session_token, session_jwt)
    if has_active_mfa_factor(member) and proof is None:
        raise errors.NoAssociatedSessionPassedIn()
    if member.mfa_phone_number:
        if given is not None and given != member.mfa_phone_number:
            raise errors.DuplicateMemberPhoneNumberForMember()
        number = member.mfa_phone_number
    else:
        if given is None:
            raise errors.MemberPhoneNumberNotFound()
        check_member_may_use_mfa(member)
        if member.totp_registration_id and not requirements.has_second_factor(org, proof or []):
            raise errors.InsufficientFactors()
        number = given
    if not sms_available:
        raise errors.SmsNotConfigured()
    if not member.mfa_phone_number:
        # Stytch links the number at send; the code, once authenticated, verifies it.
        members.change(
            conn,
            project_id,
            member.member_id,
            {"mfa_phone_number": number, "mfa_phone_number_verified": False, "updated_at": clock.now()},
        )
        member = members.get(conn, project_id, member.member_id) or member
    queue_passcode(conn, clock, vault, member=member, phone_number=number, locale=locale)
    return Target(org, member)


def queue_passcode(
    conn: Connection, clock: Clock, vault: Vault, *, member: Member, phone_number: str, locale: str | None = None
) -> None:
    """Make the member's new passcode (replacing any earlier one) and queue the text carrying it,
    in the caller's transaction. Also what a primary login that leaves MFA outstanding calls to
    send the code pre-emptively (Stytch's ``secondary_auth_initiated: "sms_otp"``)."""
    locale = messages.validate_locale(locale)
    code = store.new_code(conn, project_id=member.project_id, phone_number=phone_number)
    store.issue(
        conn,
        clock,
        vault,
        project_id=member.project_id,
        organization_id=member.organization_id,
        member_id=member.member_id,
        phone_number=phone_number,
        code=code,
    )
    project = projects.get_project(conn, member.project_id)
    body = messages.passcode_message(
        code=code, project_name=project.name if project else "", minutes=store.CODE_MINUTES, locale=locale
    )
    outbox.queue(
        conn,
        clock,
        project_id=member.project_id,
        to_number=phone_number,
        sealed_body=vault.seal(body, context=outbox.seal_context(phone_number)),
    )


def _proof_factors(
    conn: Connection,
    clock: Clock,
    organization: Organization,
    member: Member,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> list[dict[str, Any]] | None:
    """The factors of the member's login the caller passed along, or None when none was passed.
    A token of somebody else is refused, as Stytch requires it to match ``member_id``."""
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


# -- authenticate --------------------------------------------------------------------------------


def count_attempt(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    code: str,
) -> store.Attempt:
    """Step one of authenticate, committed on its own: count the guess, then compare."""
    target = find_member(
        conn, project_id=project_id, organization_reference=organization_reference, member_reference=member_reference
    )
    require_sms_allowed(target.organization)
    if not store.well_formed(code):
        raise errors.InvalidCode()
    return store.attempt(conn, clock, vault, project_id=project_id, member_id=target.member.member_id, code=code)


def spend_code(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    attempt: store.Attempt,
) -> tuple[Target, dict[str, Any]]:
    """Step two, for a matching guess: spend the code, verify the number it went to, and return
    the ``otp``/``sms`` factor that completes the second factor (in the caller's transaction,
    so a refusal further on leaves the code unspent)."""
    if not attempt.matched:
        raise errors.OtpCodeNotFound()
    target = find_member(
        conn, project_id=project_id, organization_reference=organization_reference, member_reference=member_reference
    )
    member = target.member
    store.consume(conn, clock, member_id=member.member_id, challenge_id=attempt.challenge_id)
    if member.mfa_phone_number != attempt.phone_number:
        # The number changed since the code was sent: the code proves nothing about the new one.
        raise errors.UnableToAuthOtpCode()
    values: dict[str, Any] = {}
    if not member.mfa_phone_number_verified:
        values["mfa_phone_number_verified"] = True
    if target.organization.setting("mfa_policy") == "REQUIRED_FOR_ALL" and not member.mfa_enrolled:
        # Stytch: under REQUIRED_FOR_ALL a successful OTP authentication sets mfa_enrolled.
        values["mfa_enrolled"] = True
    if values:
        members.change(conn, project_id, member.member_id, {**values, "updated_at": clock.now()})
        member = members.get(conn, project_id, member.member_id) or member
    when = rfc3339(clock.now()) or ""
    factor = second_factor(
        "otp",
        "sms",
        when,
        phone_number_factor={
            "phone_id": phone_id(project_id, member.member_id, attempt.phone_number),
            "phone_number": attempt.phone_number,
        },
    )
    return Target(target.organization, member), factor


# -- delete the member's phone ---------------------------------------------------------------------


def delete_phone_number(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    actor: ActingMember | None,
) -> Target:
    """Remove the member's MFA phone (to change it: delete, then send to the new number). Their
    sessions stay valid, as Stytch documents; a code still in flight dies with the number."""
    org = organizations.get_by_reference(conn, project_id, organization_reference)
    if org is None or (actor is not None and actor.organization.organization_id != org.organization_id):
        # Another organization's member learns nothing, not even that the organization exists.
        raise errors.OrganizationNotFound()
    member = find_member(
        conn, project_id=project_id, organization_reference=org.organization_id, member_reference=member_reference
    ).member
    own = actor is not None and actor.member.member_id == member.member_id
    if not (own and actor is not None and actor.may(SELF, DELETE_PHONE_ACTION)):
        authorize(actor, organization_id=org.organization_id, resource_id=MEMBER, action=DELETE_PHONE_ACTION)
    if not member.mfa_phone_number:
        raise errors.MemberPhoneNumberNotFound()
    values: dict[str, Any] = {"mfa_phone_number": "", "mfa_phone_number_verified": False, "updated_at": clock.now()}
    if member.default_mfa_method == SMS_OTP:
        values["default_mfa_method"] = "totp" if member.totp_registration_id else ""
    members.change(conn, project_id, member.member_id, values)
    store.retire(conn, member_id=member.member_id)
    updated = members.get(conn, project_id, member.member_id)
    assert updated is not None
    return Target(org, updated)
