"""MFA routes: TOTP create/authenticate, recovery codes get/rotate/recover, and deleting a
member's TOTP. Attempts are counted by each authenticate route's ``prepare`` step (committed
before the code is compared, see ``tenantry.mfa.attempts``)."""

from __future__ import annotations

from typing import Any

from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.models import Request
from tenantry.api.organizations import actor_of
from tenantry.mfa import recovery, totp
from tenantry.mfa.complete import Completion
from tenantry.mfa.vault import Vault
from tenantry.rbac.policy import session_roles


class TotpCreate(Request):
    organization_id: str
    member_id: str
    expiration_minutes: int | None = None
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None


class SecondFactorAuthenticate(Request):
    """``totp/authenticate`` and ``otps/sms/authenticate`` take the same body."""

    organization_id: str
    member_id: str
    code: str
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    set_mfa_enrollment: str | None = None
    set_default_mfa: bool | None = None
    telemetry_id: str | None = None


TotpAuthenticate = SecondFactorAuthenticate


class RecoveryCodesRotate(Request):
    organization_id: str
    member_id: str


class RecoveryCodesRecover(Request):
    organization_id: str
    member_id: str
    recovery_code: str
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    telemetry_id: str | None = None


def vault_of(call: Call) -> Vault:
    key = call.runtime.settings.mfa_key
    return Vault.load(call.conn, key.get_secret_value() if key is not None else None)


def session_response(completion: Completion) -> dict[str, Any]:
    """The answer of every route that completes a second factor (TOTP, SMS, recovery codes)."""
    issued = completion.issued
    return {
        **wire.member_and_organization(completion.member, completion.organization),
        "session_token": issued.session_token,
        "session_jwt": issued.session_jwt,
        "member_session": wire.member_session(
            issued.session,
            roles=session_roles(completion.member.roles),
            organization_slug=completion.organization.slug,
        ),
    }


def create_totp(call: Call, body: TotpCreate) -> dict[str, Any]:
    enrolment = totp.create(
        call.conn,
        call.runtime.clock,
        vault_of(call),
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        expiration_minutes=body.expiration_minutes,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    return {
        **wire.member_and_organization(enrolment.member, enrolment.organization),
        "totp_registration_id": enrolment.totp_registration_id,
        "secret": enrolment.secret,
        "qr_code": enrolment.qr_code,
        "recovery_codes": enrolment.recovery_codes,
    }


def count_totp_attempt(call: Call, body: TotpAuthenticate) -> None:
    totp.count_attempt(call.conn, call.runtime.clock, project_id=call.project.project_id, body=body)


def authenticate_totp(call: Call, body: TotpAuthenticate) -> dict[str, Any]:
    completion = totp.authenticate(
        call.conn,
        call.runtime.clock,
        vault_of(call),
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        code=body.code,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        set_mfa_enrollment=body.set_mfa_enrollment,
        set_default_mfa=bool(body.set_default_mfa),
    )
    return session_response(completion)


def _codes(codes: recovery.Codes) -> dict[str, Any]:
    return {**wire.member_and_organization(codes.member, codes.organization), "recovery_codes": codes.recovery_codes}


def get_recovery_codes(call: Call, _body: None) -> dict[str, Any]:
    return _codes(
        recovery.get(
            call.conn,
            vault_of(call),
            project_id=call.project.project_id,
            organization_reference=call.path_params["organization_id"],
            member_reference=call.path_params["member_id"],
        )
    )


def rotate_recovery_codes(call: Call, body: RecoveryCodesRotate) -> dict[str, Any]:
    return _codes(
        recovery.rotate(
            call.conn,
            call.runtime.clock,
            vault_of(call),
            project_id=call.project.project_id,
            organization_reference=body.organization_id,
            member_reference=body.member_id,
        )
    )


def count_recovery_attempt(call: Call, body: RecoveryCodesRecover) -> None:
    recovery.count_attempt(call.conn, call.runtime.clock, project_id=call.project.project_id, body=body)


def recover(call: Call, body: RecoveryCodesRecover) -> dict[str, Any]:
    result = recovery.recover(
        call.conn,
        call.runtime.clock,
        vault_of(call),
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        recovery_code=body.recovery_code,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
    )
    return {**session_response(result.completion), "recovery_codes_remaining": result.recovery_codes_remaining}


def delete_totp(call: Call, _body: None) -> dict[str, Any]:
    member, org = totp.delete(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_reference=call.path_params["member_id"],
        actor=actor_of(call),
    )
    return wire.member_and_organization(member, org)
