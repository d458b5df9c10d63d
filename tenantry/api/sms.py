"""SMS OTP routes: ``otps/sms/send``, ``otps/sms/authenticate`` and
``organizations/{organization_id}/members/mfa_phone_numbers/{member_id}`` (DELETE).

Authenticate has two steps (``api(..., prepare=...)``): ``attempt`` counts the guess and compares
in a transaction of its own, which commits even for a wrong guess; ``authenticate`` then spends
the code and completes the second factor, or refuses.
"""

from __future__ import annotations

from typing import Any

from tenantry import errors
from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.mfa import SecondFactorAuthenticate, session_response, vault_of
from tenantry.api.models import Request
from tenantry.api.organizations import actor_of
from tenantry.mfa.complete import complete_with_second_factor
from tenantry.sms import service as sms
from tenantry.sms.settings import sms_available
from tenantry.sms.store import Attempt


class Send(Request):
    organization_id: str
    member_id: str
    mfa_phone_number: str | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None


Authenticate = SecondFactorAuthenticate


def send(call: Call, body: Send) -> dict[str, Any]:
    target = sms.send(
        call.conn,
        call.runtime.clock,
        vault_of(call),
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        mfa_phone_number=body.mfa_phone_number,
        locale=body.locale,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        sms_available=sms_available(call.runtime.settings),
    )
    return wire.member_and_organization(target.member, target.organization)


def attempt(call: Call, body: Authenticate) -> Attempt:
    if not (body.intermediate_session_token or body.session_token or body.session_jwt):
        # Nothing to complete: refused before a guess is spent on it.
        raise errors.ActionAvailableOnlyOncePrimaryAuthenticationIsMet()
    return sms.count_attempt(
        call.conn,
        call.runtime.clock,
        vault_of(call),
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        code=body.code,
    )


def authenticate(call: Call, body: Authenticate) -> dict[str, Any]:
    target, factor = sms.spend_code(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=body.organization_id,
        member_reference=body.member_id,
        attempt=call.prepared,
    )
    done = complete_with_second_factor(
        call.conn,
        call.runtime.clock,
        organization=target.organization,
        member=target.member,
        factor=factor,
        method=sms.SMS_OTP,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        set_mfa_enrollment=body.set_mfa_enrollment,
        set_default_mfa=bool(body.set_default_mfa),
    )
    return session_response(done)


def delete_phone_number(call: Call, _body: None) -> dict[str, Any]:
    target = sms.delete_phone_number(
        call.conn,
        call.runtime.clock,
        project_id=call.project.project_id,
        organization_reference=call.path_params["organization_id"],
        member_reference=call.path_params["member_id"],
        actor=actor_of(call),
    )
    return wire.member_and_organization(target.member, target.organization)
