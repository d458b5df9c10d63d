"""Team actions: check the hierarchy here, then ask Stytch with the acting member's session.

Each action (1) reads the target member from Stytch within the signed-in clinic only, so another
clinic's member id is simply "not found"; (2) asks ``portal.roles`` whether the actor may do it;
(3) calls the SDK with ``method_options`` carrying the actor's session token, so Stytch's RBAC
checks it too; (4) appends an audit event. A refusal at (2) never reaches Stytch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from stytch.b2b.models.magic_links_email import InviteRequestOptions
from stytch.b2b.models.organizations_members import (
    DeleteRequestOptions,
    SearchRequestOptions,
    UpdateRequestOptions,
)
from stytch.shared.method_options import Authorization

from tenantry.portal import roles as clinic
from tenantry.portal.audit import log as audit
from tenantry.portal.client import StytchError, error_type
from tenantry.portal.session import SignedIn
from tenantry.portal.team import directory
from tenantry.portal.team.directory import TeamMember
from tenantry.portal.team.lock import team_lease

T = TypeVar("T")
SEARCH_PAGE = 1000
MAX_PAGES = 20


class Refused(Exception):
    """The portal (or Stytch) will not do this; ``message`` is shown to the person."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class NotFound(Refused):
    def __init__(self) -> None:
        super().__init__("There is no such member in this clinic.", 404)


def _auth(me: SignedIn) -> Authorization:
    return Authorization(session_token=me.session_token)


async def _call(make: Callable[[], Awaitable[T]], what: str) -> T:
    """One SDK call; Stytch's refusals become a ``Refused`` naming what failed."""
    try:
        return await make()
    except StytchError as exc:
        kind = error_type(exc)
        if kind in ("member_not_found", "organization_not_found", "member_does_not_exist_in_organization"):
            raise NotFound() from None
        if kind in ("session_authorization_error", "unauthorized_credentials"):
            raise Refused(f"{what}: your session does not allow this.") from None
        if kind == "duplicate_member_email":
            raise Refused(f"{what}: this person is already an active member.", 409) from None
        raise Refused(f"{what}: {exc.details.error_message}", 400) from None


def _audit(
    engine: Engine, me: SignedIn, action: str, target: TeamMember | None = None, **details: Any
) -> Awaitable[None]:
    return run_in_threadpool(
        lambda: audit.record(
            engine,
            organization_id=me.organization_id,
            actor_member_id=me.member_id,
            actor_email=me.email,
            action=action,
            target_member_id=target.member_id if target else None,
            target_email=target.email if target else None,
            details=details,
            session_id=me.session_id,
        )
    )


async def members(engine: Engine, me: SignedIn) -> list[TeamMember]:
    """Everyone in the signed-in clinic (Stytch's ``deleted`` members excluded), invitations included."""
    found: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await _call(
            lambda c=cursor: me.client.organizations.members.search_async(
                organization_ids=[me.organization_id],
                limit=SEARCH_PAGE,
                cursor=c,
                method_options=SearchRequestOptions(authorization=_auth(me)),
            ),
            "Listing the team",
        )
        found.extend(m for m in page.members if m.organization_id == me.organization_id and m.status != "deleted")
        cursor = page.results_metadata.next_cursor
        if not cursor:
            break
    sends = await run_in_threadpool(directory.last_sends, engine, me.organization_id, [m.member_id for m in found])
    now = datetime.now(UTC)
    return sorted(
        (directory.from_sdk(m, sends, now) for m in found),
        key=lambda m: (-clinic.top_rank(m.roles), m.email),
    )


async def _raw_member(me: SignedIn, member_id: str) -> Any:
    if not member_id or len(member_id) > 128:
        raise NotFound()
    resp = await _call(
        lambda: me.client.organizations.members.get_async(organization_id=me.organization_id, member_id=member_id),
        "Finding the member",
    )
    if resp.member.organization_id != me.organization_id or resp.member.status == "deleted":
        raise NotFound()
    return resp.member


async def _target(engine: Engine, me: SignedIn, member_id: str) -> tuple[Any, TeamMember]:
    raw = await _raw_member(me, member_id)
    sends = await run_in_threadpool(directory.last_sends, engine, me.organization_id, [raw.member_id])
    return raw, directory.from_sdk(raw, sends, datetime.now(UTC))


async def invite(engine: Engine, me: SignedIn, *, email: str, name: str, role: str, invite_url: str) -> TeamMember:
    refusal = clinic.refusal_to_invite(me.roles, role)
    if refusal:
        raise Refused(refusal)
    # Stytch creates the invited member and sends the link with the actor's session (RBAC:
    # stytch.member create); the role follows in a second call under update.settings.roles,
    # because Tenantry refuses, under a session, to hand out a role the inviter does not hold
    # themselves, and an admin does not hold "nurse". Should that second call fail, the
    # invitation is withdrawn so nobody is left in the clinic without the role they were meant to get.
    resp = await _call(
        lambda: me.client.magic_links.email.invite_async(
            organization_id=me.organization_id,
            email_address=email,
            name=name or None,
            invited_by_member_id=me.member_id,
            invite_redirect_url=invite_url,
            invite_expiration_minutes=directory.INVITE_MINUTES,
            method_options=InviteRequestOptions(authorization=_auth(me)),
        ),
        "Inviting " + email,
    )
    member = resp.member
    wanted = clinic.roles_after_change(directory.explicit_role_ids(member), role)
    try:
        await _call(
            lambda: me.client.organizations.members.update_async(
                organization_id=me.organization_id,
                member_id=member.member_id,
                roles=wanted,
                method_options=UpdateRequestOptions(authorization=_auth(me)),
            ),
            "Giving the role",
        )
    except Refused:
        await _call(
            lambda: me.client.organizations.members.delete_async(
                organization_id=me.organization_id,
                member_id=member.member_id,
                method_options=DeleteRequestOptions(authorization=_auth(me)),
            ),
            "Withdrawing the invitation",
        )
        raise
    target = TeamMember(member.member_id, member.email_address, member.name or "", directory.INVITED, (role,))
    await _audit(engine, me, "member.invited", target, role=role, name=name)
    return target


async def resend(engine: Engine, me: SignedIn, member_id: str, *, invite_url: str) -> TeamMember:
    raw, target = await _target(engine, me, member_id)
    if not target.is_invitation:
        raise Refused("Only pending invitations can be resent.", 409)
    if not clinic.may_act_on(me.roles, target.roles):
        raise Refused("You cannot resend an invitation to someone more senior than you.")
    await _call(
        lambda: me.client.magic_links.email.invite_async(
            organization_id=me.organization_id,
            email_address=raw.email_address,
            invited_by_member_id=me.member_id,
            invite_redirect_url=invite_url,
            invite_expiration_minutes=directory.INVITE_MINUTES,
            method_options=InviteRequestOptions(authorization=_auth(me)),
        ),
        "Resending the invitation",
    )
    await _audit(engine, me, "invitation.resent", target, role=target.role)
    return target


async def revoke(engine: Engine, me: SignedIn, member_id: str) -> TeamMember:
    """Withdraw an invitation: the invited member is deleted, and their link dies with them."""
    _, target = await _target(engine, me, member_id)
    if not target.is_invitation:
        raise Refused("Only pending invitations can be revoked; remove active members instead.", 409)
    if not clinic.may_act_on(me.roles, target.roles):
        raise Refused("You cannot revoke an invitation to someone more senior than you.")
    await _delete(me, target.member_id, "Revoking the invitation")
    await _audit(engine, me, "invitation.revoked", target, role=target.role)
    return target


async def _delete(me: SignedIn, member_id: str, what: str) -> None:
    await _call(
        lambda: me.client.organizations.members.delete_async(
            organization_id=me.organization_id,
            member_id=member_id,
            method_options=DeleteRequestOptions(authorization=_auth(me)),
        ),
        what,
    )


async def change_role(engine: Engine, me: SignedIn, member_id: str, new_role: str) -> TeamMember:
    async with team_lease(engine, me.organization_id):
        raw, target = await _target(engine, me, member_id)
        owners = directory.active_owners(await members(engine, me))
        refusal = clinic.refusal_to_change(me.roles, target.roles, new_role, active_owner_count=owners)
        if refusal:
            raise Refused(refusal)
        old = target.role
        if old == new_role:
            return target
        await _call(
            lambda: me.client.organizations.members.update_async(
                organization_id=me.organization_id,
                member_id=target.member_id,
                roles=clinic.roles_after_change(directory.explicit_role_ids(raw), new_role),
                method_options=UpdateRequestOptions(authorization=_auth(me)),
            ),
            "Changing the role",
        )
        await _audit(engine, me, "member.role_changed", target, old_role=old, new_role=new_role)
    return target


async def remove(engine: Engine, me: SignedIn, member_id: str) -> TeamMember:
    async with team_lease(engine, me.organization_id):
        _, target = await _target(engine, me, member_id)
        if target.is_invitation:
            raise Refused("This person has not accepted yet: revoke the invitation instead.", 409)
        owners = directory.active_owners(await members(engine, me))
        refusal = clinic.refusal_to_remove(me.roles, target.roles, active_owner_count=owners)
        if refusal:
            raise Refused(refusal)
        await _delete(me, target.member_id, "Removing the member")
        await _audit(engine, me, "member.removed", target, role=target.role)
    return target
