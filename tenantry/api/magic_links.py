"""Organization-scoped magic-link routes: invite, login_or_signup, authenticate."""

from __future__ import annotations

from typing import Any

from tenantry.api import wire
from tenantry.api.endpoint import Call
from tenantry.api.models import Request
from tenantry.magic_links import service as magic_links
from tenantry.rbac.acting_member import acting_member
from tenantry.rbac.policy import session_roles
from tenantry.sandbox import values as sandbox


class Invite(Request):
    organization_id: str
    email_address: str
    invite_redirect_url: str | None = None
    invited_by_member_id: str | None = None
    name: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    invite_template_id: str | None = None
    locale: str | None = None
    roles: list[str] | None = None
    invite_expiration_minutes: int | None = None


class LoginOrSignup(Request):
    organization_id: str
    email_address: str
    login_redirect_url: str | None = None
    signup_redirect_url: str | None = None
    pkce_code_challenge: str | None = None
    login_template_id: str | None = None
    signup_template_id: str | None = None
    locale: str | None = None
    login_expiration_minutes: int | None = None
    signup_expiration_minutes: int | None = None


class Authenticate(Request):
    magic_links_token: str
    pkce_code_verifier: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    intermediate_session_token: str | None = None
    telemetry_id: str | None = None


def invite(call: Call, body: Invite) -> dict[str, Any]:
    actor = acting_member(call.conn, call.runtime.clock, project_id=call.project.project_id, headers=call.headers)
    member, org = magic_links.invite(
        call.conn,
        call.runtime.clock,
        project=call.project,
        actor=actor,
        organization_reference=body.organization_id,
        email_address=body.email_address,
        redirect_url=body.invite_redirect_url,
        name=body.name,
        trusted_metadata=body.trusted_metadata,
        untrusted_metadata=body.untrusted_metadata,
        roles=body.roles,
        expiration_minutes=body.invite_expiration_minutes,
        locale=body.locale,
        invited_by_member_id=body.invited_by_member_id,
        mail_domain=call.runtime.mail_domain,
        public_url=call.runtime.settings.public_url,
    )
    return wire.member_and_organization(member, org)


def login_or_signup(call: Call, body: LoginOrSignup) -> dict[str, Any]:
    result = magic_links.login_or_signup(
        call.conn,
        call.runtime.clock,
        project=call.project,
        organization_reference=body.organization_id,
        email_address=body.email_address,
        login_redirect_url=body.login_redirect_url,
        signup_redirect_url=body.signup_redirect_url,
        pkce_code_challenge=body.pkce_code_challenge,
        login_expiration_minutes=body.login_expiration_minutes,
        signup_expiration_minutes=body.signup_expiration_minutes,
        locale=body.locale,
        mail_domain=call.runtime.mail_domain,
        public_url=call.runtime.settings.public_url,
    )
    return {
        **wire.member_and_organization(result.member, result.organization),
        "member_created": result.member_created,
    }


def authenticate(call: Call, body: Authenticate) -> dict[str, Any]:
    outcome = magic_links.authenticate(
        call.conn,
        call.runtime.clock,
        project=call.project,
        token=body.magic_links_token,
        pkce_code_verifier=body.pkce_code_verifier,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
        intermediate_session_token=body.intermediate_session_token,
        session_duration_minutes=body.session_duration_minutes,
        session_custom_claims=body.session_custom_claims,
        locale=body.locale,
    )
    # Stytch's sandbox session carries no roles (its SDK test suites rely on that).
    sandboxed = sandbox.is_sandbox_organization(call.project, outcome.organization.organization_id)
    roles = [] if sandboxed else session_roles(outcome.member.roles)
    return {
        **wire.auth_outcome(outcome, roles),
        "method_id": outcome.member.email_id,
        "reset_sessions": False,
        "organization_id": outcome.organization.organization_id,
    }
