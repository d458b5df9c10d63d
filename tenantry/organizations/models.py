"""The organization record and its authentication settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Field name -> default, exactly as Stytch names and defaults them.
DEFAULT_SETTINGS: dict[str, Any] = {
    "sso_jit_provisioning": "ALL_ALLOWED",
    "sso_jit_provisioning_allowed_connections": [],
    "email_allowed_domains": [],
    "email_jit_provisioning": "NOT_ALLOWED",
    "email_invites": "ALL_ALLOWED",
    "auth_methods": "ALL_ALLOWED",
    "allowed_auth_methods": [],
    "mfa_policy": "OPTIONAL",
    "rbac_email_implicit_role_assignments": [],
    "mfa_methods": "ALL_ALLOWED",
    "allowed_mfa_methods": [],
    "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
    "allowed_oauth_tenants": {},
    "claimed_email_domains": [],
    "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_first_party_connected_apps": [],
    "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_third_party_connected_apps": [],
}

# Settings whose presence in a create request flips email_invites' default (Stytch: invites are
# open only when the caller configured no authentication settings at all).
AUTH_SETTING_FIELDS = (
    "email_allowed_domains",
    "email_jit_provisioning",
    "auth_methods",
    "allowed_auth_methods",
    "sso_jit_provisioning",
)


@dataclass(frozen=True)
class Organization:
    organization_id: str
    project_id: str
    name: str
    slug: str
    external_id: str | None
    logo_url: str
    trusted_metadata: dict[str, Any]
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    custom_roles: list[dict[str, Any]] = field(default_factory=list)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS[name])

    @property
    def allowed_domains(self) -> list[str]:
        return list(self.setting("email_allowed_domains"))
