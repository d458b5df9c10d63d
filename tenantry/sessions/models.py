"""Sessions as the domain sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IntermediateSession:
    token_digest: str
    project_id: str
    email_address: str
    organization_id: str | None
    authentication_factors: list[dict[str, Any]]
    expires_at: datetime


@dataclass(frozen=True)
class MemberSession:
    member_session_id: str
    project_id: str
    organization_id: str
    member_id: str
    authentication_factors: list[dict[str, Any]]
    custom_claims: dict[str, Any]
    started_at: datetime
    last_accessed_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedSession:
    """A session just created or refreshed, with the secrets the caller must be handed once."""

    session: MemberSession
    session_token: str
    session_jwt: str
