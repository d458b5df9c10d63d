"""Request bodies with Stytch's field names. Strict types: a schema-invalid value is refused
with a 400 that names the field, never coerced."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class DiscoverySend(Request):
    email_address: str
    discovery_redirect_url: str | None = None
    pkce_code_challenge: str | None = None
    login_template_id: str | None = None
    locale: str | None = None
    discovery_expiration_minutes: int | None = None


class DiscoveryAuthenticate(Request):
    discovery_magic_links_token: str
    pkce_code_verifier: str | None = None


class DiscoveryList(Request):
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: str | None = None


class OrganizationSettingsFields(Request):
    sso_jit_provisioning: str | None = None
    email_allowed_domains: list[str] | None = None
    email_jit_provisioning: str | None = None
    email_invites: str | None = None
    auth_methods: str | None = None
    allowed_auth_methods: list[str] | None = None
    mfa_policy: str | None = None
    rbac_email_implicit_role_assignments: list[dict[str, Any]] | None = None
    mfa_methods: str | None = None
    allowed_mfa_methods: list[str] | None = None
    oauth_tenant_jit_provisioning: str | None = None
    allowed_oauth_tenants: dict[str, Any] | None = None
    first_party_connected_apps_allowed_type: str | None = None
    allowed_first_party_connected_apps: list[str] | None = None
    third_party_connected_apps_allowed_type: str | None = None
    allowed_third_party_connected_apps: list[str] | None = None


class DiscoveryCreate(OrganizationSettingsFields):
    intermediate_session_token: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    organization_name: str | None = None
    organization_slug: str | None = None
    organization_external_id: str | None = None
    organization_logo_url: str | None = None
    trusted_metadata: dict[str, Any] | None = None
    telemetry_id: str | None = None


class IntermediateSessionExchange(Request):
    intermediate_session_token: str
    organization_id: str
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    locale: str | None = None
    telemetry_id: str | None = None


class AuthorizationCheck(Request):
    organization_id: str
    resource_id: str
    action: str


class SessionsAuthenticate(Request):
    session_token: str | None = None
    session_jwt: str | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    authorization_check: AuthorizationCheck | None = None
