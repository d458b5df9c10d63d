"""TOTP (RFC 6238 authenticator apps): enrol a member, authenticate a code, delete the
registration.

create --> unverified registration (expires) --first good code--> the member's active TOTP

Codes are 6 digits of HMAC-SHA1 over 30-second steps, what every authenticator app computes.
A code is accepted in the previous, current or next step (clock drift), and only once: the
registration remembers the last accepted step and accepts only later ones.
"""

from __future__ import annotations

import base64
import hmac
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import segno
from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock, rfc3339
from tenantry.ids import new_id
from tenantry.members import store as members
from tenantry.members.models import Member
from tenantry.mfa import attempts, context, recovery
from tenantry.mfa import store as mfa_store
from tenantry.mfa.complete import (
    Completion,
    check_member_may_use_mfa,
    complete_with_second_factor,
    second_factor,
    validate_options,
)
from tenantry.mfa.vault import Vault
from tenantry.organizations.models import Organization
from tenantry.rbac.acting_member import ActingMember, authorize

STEP_SECONDS = 30
DRIFT_STEPS = 1
DEFAULT_EXPIRATION_MINUTES = 60
MIN_EXPIRATION_MINUTES = 5
MAX_EXPIRATION_MINUTES = 1440
SECRET_LENGTH = 32  # base32 characters: 160 bits, RFC 4226's recommended key length
CODE_RE = re.compile(r"^\d{6}$")
METHOD = "totp"


@dataclass(frozen=True)
class Enrolment:
    member: Member
    organization: Organization
    totp_registration_id: str
    secret: str
    qr_code: str
    recovery_codes: list[str]


def _sealing_context(registration_id: str, member_id: str) -> str:
    return f"totp:{registration_id}:{member_id}"


def qr_code(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// URI as a PNG QR code in a data URL, ready for an <img src>."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
    png = io.BytesIO()
    segno.make(uri, error="m").save(png, kind="png", scale=5, border=4)
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()


def create(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    expiration_minutes: int | None,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> Enrolment:
    org, member = context.target(conn, project_id, organization_reference, member_reference)
    check_member_may_use_mfa(member)
    context.require_method(org, METHOD)
    minutes = DEFAULT_EXPIRATION_MINUTES if expiration_minutes is None else expiration_minutes
    if not MIN_EXPIRATION_MINUTES <= minutes <= MAX_EXPIRATION_MINUTES:
        raise errors.InvalidArgument(
            f"expiration_minutes must be between {MIN_EXPIRATION_MINUTES} and {MAX_EXPIRATION_MINUTES}."
        )
    if member.totp_registration_id:
        raise errors.ActiveTotpExists()
    context.require_existing_factor_proven(
        conn,
        clock,
        organization=org,
        member=member,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
    )
    now = clock.now()
    # A new enrolment restarts the flow: an earlier unverified registration stops working.
    mfa_store.delete_unverified(conn, member.member_id)
    registration_id = new_id("member-totp", project_id)
    secret = pyotp.random_base32(length=SECRET_LENGTH)
    mfa_store.insert_registration(
        conn,
        mfa_store.TotpRegistration(
            totp_registration_id=registration_id,
            project_id=project_id,
            organization_id=org.organization_id,
            member_id=member.member_id,
            secret_ciphertext=vault.seal(secret, context=_sealing_context(registration_id, member.member_id)),
            verified=False,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            last_used_step=None,
        ),
    )
    codes = recovery.issue(conn, vault, member=member, when=now)
    return Enrolment(
        member=member,
        organization=org,
        totp_registration_id=registration_id,
        secret=secret,
        qr_code=qr_code(secret, account=member.email_address, issuer=org.name),
        recovery_codes=codes,
    )


def matching_step(secret: str, code: str, at_seconds: int) -> int | None:
    """The time step, within the drift window, whose code is ``code``; None when none is."""
    totp = pyotp.TOTP(secret)
    current = at_seconds // STEP_SECONDS
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Compare every candidate, so the time taken does not tell which step matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    return found


def count_attempt(conn: Connection, clock: Clock, *, project_id: str, body: Any) -> None:
    """The route's ``prepare`` step: one of the member's TOTP attempts is spent before the
    code is compared (an unknown member or organization is left to the handler's 404)."""
    found = context.find_member(conn, project_id, body.organization_id, body.member_id)
    if found is not None:
        attempts.count_attempt(conn, clock, member_id=found[1].member_id, factor=attempts.TOTP)


def authenticate(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    code: str,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    set_mfa_enrollment: str | None,
    set_default_mfa: bool,
) -> Completion:
    org, member = context.target(conn, project_id, organization_reference, member_reference)
    check_member_may_use_mfa(member)
    context.require_method(org, METHOD)
    validate_options(
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        set_mfa_enrollment=set_mfa_enrollment,
    )
    code = code.strip()
    if not CODE_RE.fullmatch(code):
        raise errors.InvalidTotpCode()
    now = clock.now()
    registration = mfa_store.usable_registration(conn, member.member_id, member.totp_registration_id, now)
    if registration is None:
        raise errors.TotpNotFound()
    secret = vault.open(
        registration.secret_ciphertext, context=_sealing_context(registration.totp_registration_id, member.member_id)
    )
    step = matching_step(secret, code, int(now.timestamp()))
    if step is None:
        raise errors.UnableToAuthenticateTotp()
    if not mfa_store.use_step(conn, registration.totp_registration_id, step):
        raise errors.TotpCodeAlreadyAuthenticated()
    if not registration.verified:
        if not mfa_store.activate(conn, registration, now):
            raise errors.ActiveTotpExists()
        member = members.get(conn, project_id, member.member_id) or member
    factor = second_factor(
        "totp",
        "authenticator_app",
        rfc3339(now) or "",
        authenticator_app_factor={"totp_id": registration.totp_registration_id},
    )
    completion = complete_with_second_factor(
        conn,
        clock,
        organization=org,
        member=member,
        factor=factor,
        method=METHOD,
        intermediate_session_token=intermediate_session_token,
        session_token=session_token,
        session_jwt=session_jwt,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        set_mfa_enrollment=set_mfa_enrollment,
        set_default_mfa=set_default_mfa,
    )
    attempts.reset(conn, member_id=member.member_id, factor=attempts.TOTP)
    return completion


def delete(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    actor: ActingMember | None,
) -> tuple[Member, Organization]:
    """Remove the member's TOTP (and the recovery codes that stand in for it). Sessions that
    already carry the TOTP factor stay valid, as on Stytch."""
    org = context.organization(conn, project_id, organization_reference, actor)
    member = context.member(conn, org, member_reference)
    action = "update.info.delete.mfa-totp"
    if not (actor is not None and actor.member.member_id == member.member_id and actor.may("stytch.self", action)):
        authorize(actor, organization_id=org.organization_id, resource_id="stytch.member", action=action)
    removed = mfa_store.delete_registrations(conn, member.member_id)
    if not removed and not member.totp_registration_id:
        raise errors.TotpNotFound()
    mfa_store.delete_codes(conn, member.member_id)
    values: dict[str, Any] = {"totp_registration_id": "", "updated_at": clock.now()}
    if member.default_mfa_method == METHOD:
        values["default_mfa_method"] = "sms_otp" if member.mfa_phone_number_verified else ""
    members.change(conn, project_id, member.member_id, values)
    updated = members.get(conn, project_id, member.member_id)
    assert updated is not None
    return updated, org
