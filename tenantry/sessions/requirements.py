"""Whether the factors in hand are enough to enter an organization (Stytch's
``primary_required`` / ``mfa_required``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantry.organizations.models import Organization

# Factor type -> the organization auth method that it satisfies.
PRIMARY_METHOD_OF_FACTOR = {"magic_link": "magic_link", "email_otp": "email_otp"}
SECOND_FACTORS = {"totp", "otp", "recovery_codes"}


@dataclass(frozen=True)
class Requirements:
    primary_required: dict[str, Any] | None = None
    mfa_required: dict[str, Any] | None = None

    @property
    def satisfied(self) -> bool:
        return self.primary_required is None and self.mfa_required is None


def evaluate(organization: Organization, factors: list[dict[str, Any]]) -> Requirements:
    primary: dict[str, Any] | None = None
    if organization.setting("auth_methods") == "RESTRICTED":
        allowed = list(organization.setting("allowed_auth_methods"))
        used = {PRIMARY_METHOD_OF_FACTOR.get(f["type"]) for f in factors}
        if not used.intersection(allowed):
            primary = {"allowed_auth_methods": allowed}
    mfa: dict[str, Any] | None = None
    if organization.setting("mfa_policy") == "REQUIRED_FOR_ALL" and not any(
        f["type"] in SECOND_FACTORS for f in factors
    ):
        # Nobody is enrolled in a second factor yet, so there are no member options to offer.
        mfa = {}
    return Requirements(primary, mfa)
