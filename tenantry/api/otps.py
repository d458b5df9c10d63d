"""Email OTP routes: ``otps/email/discovery/{send,authenticate}``, ``otps/email/login_or_signup``
and ``otps/email/authenticate``.

Each authenticate route has two steps (``api(..., prepare=...)``): ``*_attempt`` counts the guess
and compares in a transaction of its own, which commits even for a wrong guess; the handler then
spends the code and answers, or refuses.
"""

from __future__ import annotations

from typing import Any

from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.models import Request
from tenantry.otps import service as otps
from tenantry.otps.store import Attempt
from tenantry.rbac.policy import session_roles


class DiscoverySend(Request):
    email_address: str
    login_template_id: str | None = None
    locale: str | None = None
    discovery_expiration_minutes: int | None = None


class DiscoveryAuthenticate(Request):
    email_address: str
    code: str


class LoginOrSignup(Request):
    organization_id: str
    email_address: str
    login_template_id: str | None = None
    signup_template_id: str | None = None
    locale: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None


class Authenticate(Request):
    organization_id: str
    email_address: str
    code: str
    session_token: str | None = None
    session_jwt: str | None = None
    intermediate_session_token: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


def discovery_send(call: Call, body: DiscoverySend) -> dict[str, Any]:
    otps.send_discovery_code(
        call.conn,
        call.runtime.clock,
        project=call.project,
        email_address=body.email_address,
        expiration_minutes=body.discovery_expiration_minutes,
        locale=body.locale,
        mail_domain=call.runtime.mail_domain,
    )
    return {}


def discovery_attempt(call: Call, body: DiscoveryAuthenticate) -> Attempt:
    return otps.attempt_discovery(
        call.conn, call.runtime.clock, project=call.project, email_address=body.email_address, code=body.code
    )


def discovery_authenticate(call: Call, body: DiscoveryAuthenticate) -> dict[str, Any]:
    token, ist, found = otps.authenticate_discovery(
        call.conn, call.runtime.clock, project=call.project, email_address=body.email_address, attempt=call.prepared
    )
    return {
        "intermediate_session_token": token,
        "email_address": ist.email_address,
        "discovered_organizations": [wire.discovered(f) for f in found],
    }


def login_or_signup(call: Call, body: LoginOrSignup) -> dict[str, Any]:
    result = otps.login_or_signup(
        call.conn,
        call.runtime.clock,
        project=call.project,
        organization_reference=body.organization_id,
        email_address=body.email_address,
        login_expiration_minutes=body.login_expiration_minutes,
        signup_expiration_minutes=body.signup_expiration_minutes,
        locale=body.locale,
        mail_domain=call.runtime.mail_domain,
    )
    return {
        **wire.member_and_organization(result.member, result.organization),
        "member_created": result.member_created,
    }


def attempt(call: Call, body: Authenticate) -> Attempt:
    return otps.attempt_organization(
        call.conn,
        call.runtime.clock,
        project=call.project,
        organization_reference=body.organization_id,
        email_address=body.email_address,
        code=body.code,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
    )


def authenticate(call: Call, body: Authenticate) -> dict[str, Any]:
    outcome = otps.authenticate(
        call.conn,
        call.runtime.clock,
        project=call.project,
        organization_reference=body.organization_id,
        email_address=body.email_address,
        attempt=call.prepared,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        intermediate_session_token=body.intermediate_session_token,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        locale=body.locale,
    )
    return {
        **wire.auth_outcome(outcome, session_roles(outcome.member.roles)),
        "method_id": outcome.member.email_id,
        "organization_id": outcome.organization.organization_id,
    }
