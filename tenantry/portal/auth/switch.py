"""Switch clinics without a new email: Stytch's ``sessions.exchange`` turns the current member
session into one for another organization the same person belongs to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal.auth.establish import establish
from tenantry.portal.client import StytchError, error_type
from tenantry.portal.clinics.choose import choices
from tenantry.portal.context import PageError, Redirect
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render
from tenantry.portal.session import SignedIn, signed_in


async def _others(me: SignedIn) -> list[dict[str, str]]:
    resp = await me.client.discovery.organizations.list_async(session_token=me.session_token)
    return [c for c in choices(list(resp.discovered_organizations)) if c["organization_id"] != me.organization_id]


async def switch_page(request: Request) -> Response:
    me = await signed_in(request)
    return render(request, "portal/switch.html", {"choices": await _others(me)})


async def switch(request: Request) -> Response:
    form = await form_with_csrf(request)
    me = await signed_in(request)
    organization_id = str(form.get("organization_id", ""))
    chosen = next((c for c in await _others(me) if c["organization_id"] == organization_id), None)
    if chosen is None:
        raise PageError(404, "Clinic not found", "That clinic is not among the ones you may switch to.")
    try:
        resp = await me.client.sessions.exchange_async(organization_id=organization_id, session_token=me.session_token)
    except StytchError as exc:
        raise PageError(
            403,
            "You cannot switch to that clinic from here",
            "That clinic asks for a different way of signing in. Sign out and sign in with your email again. "
            f"({error_type(exc)})",
        ) from None
    if not resp.member_authenticated or not resp.session_token:
        raise PageError(403, "This clinic needs a second factor", "Sign in to it with your email instead.")
    await establish(request, resp, invited=chosen["membership"] == "invited_member")
    raise Redirect("/home")
