"""Signing out (this browser), signing out everywhere (every session of this membership), and
the pages that follow them or an automatic logoff."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal.audit import log as audit
from tenantry.portal.client import StytchError
from tenantry.portal.context import Redirect, portal
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render
from tenantry.portal.session import end_session, session_token, signed_in

TIMED_OUT = {
    "idle": "You were signed out after a period of inactivity, as your clinic requires on shared workstations.",
    "absolute": "Your session reached the longest time your clinic allows. Sign in again to continue.",
    "ended": "Your session has ended: it expired, or you signed out on another device.",
}


async def sign_out(request: Request) -> Response:
    await form_with_csrf(request)
    token = session_token(request)
    if token:
        try:
            await portal(request).client.sessions.revoke_async(session_token=token)
        except StytchError:
            pass  # already gone
    end_session(request)
    raise Redirect("/signed-out")


async def sign_out_everywhere(request: Request) -> Response:
    await form_with_csrf(request)
    me = await signed_in(request)
    await me.client.sessions.revoke_async(member_id=me.member_id)
    await run_in_threadpool(
        audit.record,
        portal(request).engine,
        organization_id=me.organization_id,
        actor_member_id=me.member_id,
        actor_email=me.email,
        action="session.signed_out_everywhere",
        target_member_id=me.member_id,
        target_email=me.email,
        session_id=me.session_id,
    )
    end_session(request)
    raise Redirect("/signed-out?everywhere=1")


async def signed_out(request: Request) -> Response:
    return render(request, "portal/signed_out.html", {"everywhere": request.query_params.get("everywhere") == "1"})


async def timed_out(request: Request) -> Response:
    why = request.query_params.get("why", "ended")
    return render(request, "portal/timed_out.html", {"message": TIMED_OUT.get(why, TIMED_OUT["ended"]), "why": why})
