"""``GET /authenticate``: where every magic link the portal sends (or invites) lands.

``stytch_token_type=discovery``: a sign-in/sign-up link; it yields an intermediate session and
the person chooses a clinic next. ``multi_tenant_magic_links``: a link into one organization
(an invitation, or an organization login); it yields a member session directly.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal.auth import errors, flow
from tenantry.portal.auth.establish import establish, invitation_pending
from tenantry.portal.client import StytchError
from tenantry.portal.context import PageError, Redirect, portal
from tenantry.portal.pages import render


def _link_problem(request: Request) -> Response:
    return render(request, "portal/link_unusable.html", {"email": flow.read(request).email}, status_code=400)


async def authenticate(request: Request) -> Response:
    token_type = request.query_params.get("stytch_token_type", "")
    token = request.query_params.get("token", "")
    if not token or len(token) > 512:
        return _link_problem(request)
    p = portal(request)
    if token_type == "discovery":
        try:
            resp = await p.client.magic_links.discovery.authenticate_async(discovery_magic_links_token=token)
        except StytchError as exc:
            if errors.link_unusable(exc):
                return _link_problem(request)
            raise
        flow.write(request, flow.Flow(email=resp.email_address, ist=resp.intermediate_session_token, ist_at=flow.now()))
        raise Redirect("/clinics")
    if token_type == "multi_tenant_magic_links":
        try:
            resp = await p.client.magic_links.authenticate_async(magic_links_token=token)
        except StytchError as exc:
            if errors.link_unusable(exc):
                return _link_problem(request)
            raise
        if not resp.member_authenticated or not resp.session_token:
            raise PageError(
                403,
                "This clinic needs a second factor",
                "Your clinic requires multi-factor authentication, which this portal does not offer yet. "
                "Ask your clinic's administrator.",
            )
        invited = await invitation_pending(request, resp.organization.organization_id, resp.member.member_id)
        await establish(request, resp, invited=invited)
        raise Redirect("/home")
    return _link_problem(request)
