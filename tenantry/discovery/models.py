"""What discovery hands back: organizations one may enter, and the outcome of entering one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantry.members.models import Member
from tenantry.organizations.models import Organization
from tenantry.sessions.models import IssuedSession
from tenantry.sessions.requirements import Requirements

ACTIVE_MEMBER = "active_member"
INVITED_MEMBER = "invited_member"
PENDING_MEMBER = "pending_member"
ELIGIBLE_BY_DOMAIN = "eligible_to_join_by_email_domain"

MEMBERSHIP_OF_STATUS = {"active": ACTIVE_MEMBER, "invited": INVITED_MEMBER, "pending": PENDING_MEMBER}


@dataclass(frozen=True)
class DiscoveredOrganization:
    organization: Organization
    membership_type: str
    member: Member | None
    details: dict[str, Any] | None
    requirements: Requirements


@dataclass(frozen=True)
class AuthOutcome:
    """A member who entered an organization: either fully (a session) or half-way (an IST and
    the requirements still to meet)."""

    member: Member
    organization: Organization
    issued: IssuedSession | None
    intermediate_session_token: str
    requirements: Requirements
