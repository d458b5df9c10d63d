"""Members as the team page shows them, and when an invitation counts as expired.

Stytch's member object says ``invited`` until the person accepts, whether or not their link still
works; it has no "invite expires at" field. The link's lifetime is the ``invite_expiration_minutes``
the invitation was sent with, and the portal always sends it explicitly (``INVITE_MINUTES``,
Stytch's own default of one week). So an invitation is *expired* when the last time it was sent
plus that lifetime is in the past. The last send is read from the portal's own audit log
(``member.invited`` / ``invitation.resent`` for that member); for an invitation sent outside the
portal the member's ``updated_at`` stands in (Stytch bumps it when an invite is re-sent), else
``created_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import read_transaction
from tenantry.db.schema import portal_audit_events as events
from tenantry.portal import roles as clinic

INVITE_MINUTES = 10080  # Stytch's default and maximum invite_expiration_minutes
SENDS = ("member.invited", "invitation.resent")

ACTIVE, INVITED, EXPIRED, PENDING = "active", "invited", "invitation_expired", "pending"
STATUS_LABELS = {ACTIVE: "Active", INVITED: "Invited", EXPIRED: "Invitation expired", PENDING: "Pending"}


@dataclass(frozen=True)
class TeamMember:
    member_id: str
    email: str
    name: str
    status: str  # one of ACTIVE, INVITED, EXPIRED, PENDING
    roles: tuple[str, ...]  # every role id Stytch lists for the member
    invite_expires_at: datetime | None = None

    @property
    def role(self) -> str | None:
        return clinic.highest(self.roles)

    @property
    def role_label(self) -> str:
        role = self.role
        return clinic.ROLES_BY_ID[role].label if role else "—"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_invitation(self) -> bool:
        return self.status in (INVITED, EXPIRED)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def invite_expiry(last_sent: datetime) -> datetime:
    return _utc(last_sent) + timedelta(minutes=INVITE_MINUTES)


def status_of(stytch_status: str, last_sent: datetime | None, now: datetime) -> tuple[str, datetime | None]:
    """The portal's status for a member, and when their invitation stops working (if invited)."""
    if stytch_status != "invited" or last_sent is None:
        return (ACTIVE if stytch_status == "active" else PENDING if stytch_status == "pending" else stytch_status), None
    expires = invite_expiry(last_sent)
    return (EXPIRED if expires <= _utc(now) else INVITED), expires


def role_ids(member: Any) -> tuple[str, ...]:
    return tuple(r.role_id for r in (member.roles or []))


def explicit_role_ids(member: Any) -> list[str]:
    """Roles assigned to the member directly (not implied by email domain or SSO)."""
    return [
        r.role_id
        for r in (member.roles or [])
        if any(getattr(s, "type", "") == "direct_assignment" for s in (r.sources or []))
    ]


def from_sdk(member: Any, last_sent: Mapping[str, datetime], now: datetime) -> TeamMember:
    sent = last_sent.get(member.member_id) or member.updated_at or member.created_at
    status, expires = status_of(member.status, sent, now)
    return TeamMember(
        member_id=member.member_id,
        email=member.email_address,
        name=member.name or "",
        status=status,
        roles=role_ids(member),
        invite_expires_at=expires,
    )


def last_sends(engine: Engine, organization_id: str, member_ids: Iterable[str]) -> dict[str, datetime]:
    """When the portal last sent each of these members an invitation (from the audit log)."""
    ids = list(member_ids)
    if not ids:
        return {}
    with read_transaction(engine) as conn:
        rows = conn.execute(
            sa.select(events.c.target_member_id, sa.func.max(events.c.at))
            .where(
                events.c.organization_id == organization_id,
                events.c.action.in_(SENDS),
                events.c.target_member_id.in_(ids),
            )
            .group_by(events.c.target_member_id)
        ).all()
    return {member_id: _utc(at) for member_id, at in rows}


def active_owners(members: Iterable[TeamMember]) -> int:
    return clinic.owner_count(m.roles for m in members if m.status == ACTIVE)
