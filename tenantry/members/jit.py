"""Just-in-time provisioning by email domain: who may become a member without an invitation."""

from __future__ import annotations

from tenantry import errors
from tenantry.organizations.models import Organization


def refuse_unless_jit_allowed(org: Organization, *, domain_admitted: bool, previously_deleted: bool) -> None:
    """Raise Stytch's refusal unless ``org`` lets this email join by its domain.

    ``domain_admitted`` is the caller's domain rule: discovery adds Stytch's anti-phishing check
    (a verified member on that domain must already be inside), organization login does not.
    """
    if org.setting("email_jit_provisioning") != "RESTRICTED":
        raise errors.EmailJitProvisioningNotAllowed()
    if not domain_admitted:
        raise errors.InvalidEmailForJitProvisioning()
    if previously_deleted:
        # A deleted member comes back only through reactivation, as on Stytch.
        raise errors.EmailJitProvisioningNotAllowed(
            "This member was deleted from the organization; an admin must reactivate them."
        )
