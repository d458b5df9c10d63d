"""What happens once the API has issued a member session, however it was obtained."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tenantry.portal.audit import log as audit
from tenantry.portal.audit import query as audit_query
from tenantry.portal.auth import flow
from tenantry.portal.clinics.metadata import session_timeouts
from tenantry.portal.context import portal
from tenantry.portal.session import default_timeouts, start_session


async def establish(request: Request, resp: Any, *, invited: bool) -> None:
    """Fit the session to its clinic, remember it in this browser, and audit an acceptance.

    ``resp`` is any SDK response carrying ``session_token``, ``member``, ``organization`` and
    ``member_session``. The session's lifetime becomes the clinic's absolute lifetime, counted
    from now (a Stytch session is created with 60 minutes unless told otherwise).
    """
    p = portal(request)
    timeouts = session_timeouts(resp.organization.trusted_metadata, default_timeouts(p))
    await p.client.sessions.authenticate_async(
        session_token=resp.session_token, session_duration_minutes=timeouts.absolute_minutes
    )
    start_session(request, resp.session_token)
    flow.clear(request)
    if invited:
        await run_in_threadpool(
            audit.record,
            p.engine,
            organization_id=resp.organization.organization_id,
            actor_member_id=resp.member.member_id,
            actor_email=resp.member.email_address,
            action="invitation.accepted",
            target_member_id=resp.member.member_id,
            target_email=resp.member.email_address,
            session_id=resp.member_session.member_session_id if resp.member_session else None,
        )


def _pending_invitation(engine: Any, organization_id: str, member_id: str) -> bool:
    events = audit_query.search(
        engine, organization_id=organization_id, filters=audit_query.Filters(target=member_id), limit=50
    )
    for event in events:  # newest first: the latest word on this member's invitation decides
        if event["action"] == "invitation.accepted" or event["action"] == "invitation.revoked":
            return False
        if event["action"] in ("member.invited", "invitation.resent"):
            return True
    return False


async def invitation_pending(request: Request, organization_id: str, member_id: str) -> bool:
    """Whether the portal invited this member and nobody has accepted or revoked it since.

    An invitation link authenticates like any organization login link, and the API answers
    with the member already active; the portal's own audit log is what remembers the invite.
    """
    return await run_in_threadpool(_pending_invitation, portal(request).engine, organization_id, member_id)
