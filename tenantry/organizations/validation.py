"""Rules for organization fields, as Stytch enforces them."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from tenantry import errors

SLUG_RE = re.compile(r"^[A-Za-z0-9\-._~]{2,128}$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9._\-|]{1,128}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# Free-mail providers: an organization cannot claim everybody at gmail.com (Stytch refuses these
# with organization_settings_domain_too_common).
COMMON_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com",
        "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
        "protonmail.com", "gmx.com", "gmx.de", "mail.com", "yandex.com", "zoho.com", "qq.com",
        "163.com", "hey.com", "fastmail.com",
    }
)  # fmt: skip

ENUMS: dict[str, tuple[str, ...]] = {
    "sso_jit_provisioning": ("ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"),
    "email_jit_provisioning": ("RESTRICTED", "NOT_ALLOWED"),
    "email_invites": ("ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"),
    "auth_methods": ("ALL_ALLOWED", "RESTRICTED"),
    "mfa_policy": ("OPTIONAL", "REQUIRED_FOR_ALL"),
    "mfa_methods": ("ALL_ALLOWED", "RESTRICTED"),
    "oauth_tenant_jit_provisioning": ("RESTRICTED", "NOT_ALLOWED"),
    "first_party_connected_apps_allowed_type": ("ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"),
    "third_party_connected_apps_allowed_type": ("ALL_ALLOWED", "RESTRICTED", "NOT_ALLOWED"),
}
AUTH_METHODS = (
    "sso", "magic_link", "email_otp", "password", "google_oauth", "microsoft_oauth",
    "slack_oauth", "github_oauth", "hubspot_oauth",
)  # fmt: skip
MFA_METHODS = ("sms_otp", "totp")
METADATA_LIMIT_BYTES = 4096


def validate_name(name: str) -> str:
    if not 1 <= len(name.strip()) <= 128:
        raise errors.InvalidOrganizationName()
    return name


def validate_slug(slug: str) -> str:
    if not SLUG_RE.fullmatch(slug):
        raise errors.InvalidOrganizationSlug()
    return slug


def validate_external_id(external_id: str) -> str:
    if not EXTERNAL_ID_RE.fullmatch(external_id):
        raise errors.InvalidOrganizationExternalId()
    return external_id


def validate_domains(domains: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower()
        if not DOMAIN_RE.fullmatch(domain):
            raise errors.OrganizationSettingsInvalidDomain(f"'{raw[:100]}' is not a valid domain.")
        if domain in COMMON_DOMAINS:
            raise errors.OrganizationSettingsDomainTooCommon(
                f"'{domain}' is a common email domain and cannot be an allowed domain."
            )
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def validate_metadata(value: dict[str, Any], field: str) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > METADATA_LIMIT_BYTES:
        raise errors.MetadataTooLarge(f"{field} may be at most 4 KB of JSON.")
    return value


def validate_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Check the auth settings that were given; returns them normalised."""
    out = dict(settings)
    if out.get("mfa_policy", "OPTIONAL") not in ENUMS["mfa_policy"]:
        raise errors.InvalidOrganizationMfaPolicy()
    for name, allowed in ENUMS.items():
        if name in out and out[name] not in allowed:
            raise errors.InvalidOrganizationSetting(f"{name} must be one of {', '.join(allowed)}.")
    if "email_allowed_domains" in out:
        out["email_allowed_domains"] = validate_domains(out["email_allowed_domains"])
    for method in out.get("allowed_mfa_methods", []) or []:
        if method not in MFA_METHODS:
            raise errors.InvalidOrganizationAllowedMfaMethods()
    for method in out.get("allowed_auth_methods", []) or []:
        if method not in AUTH_METHODS:
            raise errors.InvalidOrganizationSetting(f"allowed_auth_methods may only contain {', '.join(AUTH_METHODS)}.")
    return out


def validate_mfa_methods(settings: dict[str, Any]) -> None:
    """On the settings an organization ends up with: RESTRICTED must name a method, or no
    member could ever complete MFA there."""
    if settings.get("mfa_methods") == "RESTRICTED" and not settings.get("allowed_mfa_methods"):
        raise errors.AllowedMfaMethodsRequiredForRestricted()


def slug_from(text: str) -> str:
    """A slug derived from a name, for creations that give none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120]
    return slug if len(slug) >= 2 else f"org-{slug}".strip("-")
