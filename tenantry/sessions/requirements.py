"""Whether the factors in hand are enough to enter an organization (Stytch's
``primary_required`` / ``mfa_required``).

MFA is required when the organization's ``mfa_policy`` is ``REQUIRED_FOR_ALL`` or the member set
``mfa_enrolled``; it is met by a second factor of a method the organization allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantry.members.models import Member
from tenantry.organizations.models import Organization

# Factor type -> the organization auth method that it satisfies.
PRIMARY_METHOD_OF_FACTOR = {"magic_link": "magic_link", "email_otp": "email_otp"}
# Second factor type -> the MFA method (organization ``allowed_mfa_methods``) it belongs to.
# Recovery codes stand in for the authenticator app, so they count as TOTP.
MFA_METHOD_OF_FACTOR = {"totp": "totp", "otp": "sms_otp", "recovery_codes": "totp"}
SECOND_FACTORS = set(MFA_METHOD_OF_FACTOR)
MFA_METHODS = ("sms_otp", "totp")


@dataclass(frozen=True)
class Requirements:
    primary_required: dict[str, Any] | None = None
    mfa_required: dict[str, Any] | None = None

    @property
    def satisfied(self) -> bool:
        return self.primary_required is None and self.mfa_required is None


def allowed_mfa_methods(organization: Organization) -> list[str]:
    if organization.setting("mfa_methods") == "RESTRICTED":
        return [m for m in MFA_METHODS if m in organization.setting("allowed_mfa_methods")]
    return list(MFA_METHODS)


def mfa_needed(organization: Organization, member: Member | None) -> bool:
    return organization.setting("mfa_policy") == "REQUIRED_FOR_ALL" or bool(member and member.mfa_enrolled)


def has_second_factor(organization: Organization, factors: list[dict[str, Any]]) -> bool:
    allowed = allowed_mfa_methods(organization)
    return any(MFA_METHOD_OF_FACTOR.get(f.get("type", "")) in allowed for f in factors)


def masked_phone(phone: str) -> str:
    """Stytch shows only the last four digits of the phone in ``member_options``."""
    digits = phone.lstrip("+")
    return "X" * max(len(digits) - 4, 0) + digits[-4:] if digits else ""


def member_options(organization: Organization, member: Member | None) -> dict[str, str] | None:
    """The second factors the member already has and the organization allows; None when the
    member must enrol one first."""
    if member is None:
        return None
    allowed = allowed_mfa_methods(organization)
    phone = member.mfa_phone_number if "sms_otp" in allowed else ""
    totp = member.totp_registration_id if "totp" in allowed else ""
    if not phone and not totp:
        return None
    return {"mfa_phone_number": masked_phone(phone), "totp_registration_id": totp}


def mfa_requirement(organization: Organization, member: Member | None) -> dict[str, Any]:
    """The ``mfa_required`` object; ``secondary_auth_initiated`` is added by whoever sent a code."""
    options = member_options(organization, member)
    return {"member_options": options} if options is not None else {}


def evaluate(organization: Organization, factors: list[dict[str, Any]], member: Member | None = None) -> Requirements:
    """``member`` is None for an organization the email could join but is not a member of yet."""
    primary: dict[str, Any] | None = None
    if organization.setting("auth_methods") == "RESTRICTED":
        allowed = list(organization.setting("allowed_auth_methods"))
        used = {PRIMARY_METHOD_OF_FACTOR.get(f["type"]) for f in factors}
        if not used.intersection(allowed):
            primary = {"allowed_auth_methods": allowed}
    mfa: dict[str, Any] | None = None
    if mfa_needed(organization, member) and not has_second_factor(organization, factors):
        mfa = mfa_requirement(organization, member)
    return Requirements(primary, mfa)
