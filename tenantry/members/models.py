"""The member record: one person's membership in one organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenantry.ids import new_id

ACTIVE = "active"
INVITED = "invited"
PENDING = "pending"
DELETED = "deleted"


@dataclass(frozen=True)
class Member:
    member_id: str
    project_id: str
    organization_id: str
    email_address: str
    email_id: str
    email_verified: bool
    status: str
    name: str
    roles: list[str]  # explicitly assigned role ids
    trusted_metadata: dict[str, Any]
    untrusted_metadata: dict[str, Any]
    is_breakglass: bool
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    # MFA: mfa_phone_number is E.164 or ""; totp_registration_id names the active (verified)
    # TOTP registration or is ""; default_mfa_method is "sms_otp", "totp" or "".
    mfa_enrolled: bool = False
    mfa_phone_number: str = ""
    mfa_phone_number_verified: bool = False
    default_mfa_method: str = ""
    totp_registration_id: str = ""


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def new_member(
    *,
    project_id: str,
    organization_id: str,
    email_address: str,
    status: str,
    email_verified: bool,
    now: datetime,
    roles: list[str] | None = None,
    name: str = "",
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool = False,
    external_id: str | None = None,
    mfa_enrolled: bool = False,
) -> Member:
    """A member not yet stored, with fresh Stytch-shaped member and email ids."""
    return Member(
        member_id=new_id("member", project_id),
        project_id=project_id,
        organization_id=organization_id,
        email_address=email_address,
        email_id=new_id("member-email", project_id),
        email_verified=email_verified,
        status=status,
        name=name,
        roles=list(roles or []),
        trusted_metadata=dict(trusted_metadata or {}),
        untrusted_metadata=dict(untrusted_metadata or {}),
        is_breakglass=is_breakglass,
        external_id=external_id,
        created_at=now,
        updated_at=now,
        mfa_enrolled=mfa_enrolled,
    )
