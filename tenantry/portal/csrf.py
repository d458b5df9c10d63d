"""CSRF protection for every POST: a signed double-submit token, plus an origin check.

The browser holds a random nonce in an HttpOnly cookie; forms carry ``mac(nonce)`` under the
cookie keys. A cross-site page can make the browser send the cookie but cannot read it, nor
compute the MAC, so it cannot fill the form field. When the browser names the request's Origin
it must be the portal's own, and ``Sec-Fetch-Site`` must say ``same-origin`` when sent (defence in
depth; old clients send neither).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request

from tenantry.portal import cookies
from tenantry.portal.context import PageError, portal

FIELD = "csrf_token"
_PURPOSE = "csrf"
_STATE = "portal_csrf_nonce"
# The nonce outlives sessions (a sign-in form may sit in a tab for a long time).
NONCE_MAX_AGE = 7 * 24 * 3600


def _nonce(request: Request) -> str:
    state = request.scope.setdefault("state", {})
    nonce = state.get(_STATE) or portal(request).cookies.read(request, cookies.CSRF)
    if not nonce or len(nonce) > 100:
        nonce = secrets.token_urlsafe(32)
        cookies.queue(request, portal(request).cookies, cookies.CSRF, nonce, max_age=NONCE_MAX_AGE)
    state[_STATE] = nonce
    return nonce


def csrf_token(request: Request) -> str:
    """The token forms of this page carry (mints the browser's nonce on first use)."""
    return portal(request).signer.mac(_PURPOSE, _nonce(request))


def _origin_ok(request: Request) -> bool:
    # Browsers say where a request comes from with Sec-Fetch-Site, and (usually) Origin. Under
    # our Referrer-Policy: no-referrer, Chromium sends "Origin: null" even for same-origin
    # forms, so that value proves nothing either way and the token decides.
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    public = urlsplit(portal(request).settings.public_url)
    return origin == f"{public.scheme}://{public.netloc}"


async def form_with_csrf(request: Request) -> FormData:
    """The submitted form, or a 403 page when its CSRF token is missing or wrong."""
    form = await request.form()
    token = form.get(FIELD)
    nonce = portal(request).cookies.read(request, cookies.CSRF)
    valid = (
        isinstance(token, str)
        and bool(nonce)
        and _origin_ok(request)
        and portal(request).signer.verify_mac(_PURPOSE, nonce or "", token)
    )
    if not valid:
        raise PageError(
            403,
            "This form has expired",
            "The page you sent it from was too old, or it did not come from this portal. "
            "Go back, reload the page and try again.",
        )
    return form
