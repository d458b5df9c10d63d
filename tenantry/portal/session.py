"""Who is signed in, and the server-side automatic logoff.

The session cookie holds the Stytch session token and the time of the person's last request,
signed by the portal. On every page ``signed_in()``:

1. asks the API to authenticate the token (so a session revoked elsewhere, e.g. by "sign out
   everywhere" in another browser, ends here at once);
2. enforces the clinic's idle timeout (last activity in the signed cookie: no state lives in
   process memory, any worker may serve the next request) and absolute lifetime (from the
   Stytch session's ``started_at``), revoking the Stytch session when either has passed, so
   the token is dead everywhere and not merely forgotten by this browser;
3. moves the idle clock forward.

The cookie's own Max-Age is not the enforcement: an old cookie replayed is refused by the
server (NIST 800-63B §7.1.1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from tenantry.portal import cookies
from tenantry.portal.client import StytchError
from tenantry.portal.clinics.metadata import Timeouts, session_timeouts
from tenantry.portal.context import Portal, Redirect, portal

_PURPOSE = "session"
_STATE = "portal_signed_in"


@dataclass(frozen=True)
class SignedIn:
    client: Any = field(repr=False)  # stytch.B2BClient
    session_token: str = field(repr=False)
    session_id: str
    member_id: str
    email: str
    name: str
    organization_id: str
    organization_name: str
    roles: list[str]
    organization_slug: str = ""
    timeouts: Timeouts = Timeouts(15, 720)
    trusted_metadata: dict[str, Any] = field(default_factory=dict, repr=False)


def default_timeouts(p: Portal) -> Timeouts:
    return Timeouts(p.settings.default_idle_minutes, p.settings.default_absolute_minutes)


def start_session(request: Request, session_token: str) -> None:
    """Remember a freshly issued Stytch session in this browser (the idle clock starts now)."""
    p = portal(request)
    value = p.signer.sign(_PURPOSE, {"t": session_token, "a": int(time.time())})
    cookies.queue(request, p.cookies, cookies.SESSION, value)


def end_session(request: Request) -> None:
    cookies.queue_delete(request, portal(request).cookies, cookies.SESSION)


def session_token(request: Request) -> str | None:
    """The token in this browser's cookie, not yet authenticated (sign-out uses it)."""
    p = portal(request)
    payload = p.signer.unsign(_PURPOSE, p.cookies.read(request, cookies.SESSION))
    token = payload.get("t") if payload else None
    return token if isinstance(token, str) else None


async def _revoke(p: Portal, session_id: str) -> None:
    try:
        await p.client.sessions.revoke_async(member_session_id=session_id)
    except StytchError:
        pass  # already gone: the point is that it is dead


async def signed_in(request: Request) -> SignedIn:
    """The signed-in member, or a ``Redirect`` to the sign-in page or the timed-out page."""
    state = request.scope.setdefault("state", {})
    if isinstance(state.get(_STATE), SignedIn):
        return state[_STATE]
    p = portal(request)
    payload = p.signer.unsign(_PURPOSE, p.cookies.read(request, cookies.SESSION))
    token, last_active = (payload or {}).get("t"), (payload or {}).get("a")
    if not isinstance(token, str) or not isinstance(last_active, int):
        raise Redirect("/sign-in")
    try:
        resp = await p.client.sessions.authenticate_async(session_token=token)
    except StytchError:
        # Expired, revoked (signed out everywhere) or unknown: the same answer for all.
        end_session(request)
        raise Redirect("/timed-out?why=ended") from None
    session, member, org = resp.member_session, resp.member, resp.organization
    timeouts = session_timeouts(org.trusted_metadata, default_timeouts(p))
    now = int(time.time())
    why = None
    if now - last_active > timeouts.idle_minutes * 60:
        why = "idle"
    elif now - int(session.started_at.timestamp()) > timeouts.absolute_minutes * 60:
        why = "absolute"
    if why is not None:
        await _revoke(p, session.member_session_id)
        end_session(request)
        raise Redirect(f"/timed-out?why={why}")
    cookies.queue(request, p.cookies, cookies.SESSION, p.signer.sign(_PURPOSE, {"t": token, "a": now}))
    me = SignedIn(
        client=p.client,
        session_token=token,
        session_id=session.member_session_id,
        member_id=member.member_id,
        email=member.email_address,
        name=member.name or "",
        organization_id=org.organization_id,
        organization_name=org.organization_name,
        roles=list(session.roles),
        organization_slug=org.organization_slug,
        timeouts=timeouts,
        trusted_metadata=dict(org.trusted_metadata or {}),
    )
    state[_STATE] = me
    return me
