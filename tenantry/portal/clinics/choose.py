"""Choose a clinic after a discovery link: the clinics the person belongs to, is invited to, or
may join by their email's domain. Everything here runs on the intermediate session, whose
expiry sends the person to the "start again" page, never to an error."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal.auth import errors, flow
from tenantry.portal.auth.establish import establish
from tenantry.portal.client import StytchError
from tenantry.portal.context import PageError, Redirect, portal
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render

MEMBERSHIP_LABELS = {
    "active_member": "Member",
    "pending_member": "Member",
    "invited_member": "Invited",
    "eligible_to_join_by_email_domain": "Can join with your email domain",
}


def choices(discovered: list[Any]) -> list[dict[str, str]]:
    """Discovered organizations the portal can enter, in the API's order."""
    found = []
    for item in discovered:
        kind = item.membership.type if item.membership else ""
        if item.organization is None or kind not in MEMBERSHIP_LABELS:
            continue
        found.append(
            {
                "organization_id": item.organization.organization_id,
                "name": item.organization.organization_name,
                "slug": item.organization.organization_slug,
                "membership": kind,
                "label": MEMBERSHIP_LABELS[kind],
            }
        )
    return found


def _ist(request: Request) -> str:
    current = flow.read(request)
    if not current.ist:
        raise Redirect("/sign-in")
    return current.ist


async def _discovered(request: Request, ist: str) -> list[Any]:
    try:
        resp = await portal(request).client.discovery.organizations.list_async(intermediate_session_token=ist)
    except StytchError as exc:
        if errors.intermediate_session_gone(exc):
            raise Redirect("/start-again") from None
        raise
    return list(resp.discovered_organizations)


async def choose_page(request: Request) -> Response:
    ist = _ist(request)
    found = choices(await _discovered(request, ist))
    return render(request, "portal/choose.html", {"choices": found, "email": flow.read(request).email})


async def select(request: Request) -> Response:
    form = await form_with_csrf(request)
    ist = _ist(request)
    organization_id = str(form.get("organization_id", ""))
    chosen = next(
        (c for c in choices(await _discovered(request, ist)) if c["organization_id"] == organization_id), None
    )
    if chosen is None:
        raise PageError(404, "Clinic not found", "That clinic is not among the ones you may enter.")
    try:
        resp = await portal(request).client.discovery.intermediate_sessions.exchange_async(
            intermediate_session_token=ist, organization_id=organization_id
        )
    except StytchError as exc:
        if errors.intermediate_session_gone(exc):
            raise Redirect("/start-again") from None
        raise
    if not resp.member_authenticated or not resp.session_token:
        raise PageError(
            403,
            "This clinic needs a second factor",
            "Your clinic requires multi-factor authentication, which this portal does not offer yet.",
        )
    await establish(request, resp, invited=chosen["membership"] == "invited_member")
    raise Redirect("/home")
