"""The member record: one person's membership in one organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()
