"""The Continue page that email links open (``GET|HEAD|POST /links/continue``).

GET and HEAD only read the link and show a page: "Continue", or why the link cannot be used.
Nothing is recorded and nothing is spent, so a mail scanner that fetches the link, follows its
redirects or prefetches it leaves it intact. Only the person's click, a POST carrying the CSRF
field (see ``tenantry.web.csrf``), answers 303 to the application's redirect URL with
``stytch_token_type`` and ``token`` — the URL stored with the link when it was sent, never one
taken from the request. The page works without JavaScript; a hashed inline script only removes
the token from the address bar (history), and the CSP allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tenantry.db.engine import read_transaction
from tenantry.magic_links import landing
from tenantry.magic_links.landing import Landing
from tenantry.runtime import Runtime
from tenantry.web import csrf

_templates = Environment(loader=PackageLoader("tenantry.web", "templates"), autoescape=select_autoescape())

# Keeps the token out of the history and out of anything that reads the address bar later.
STRIP_TOKEN_SCRIPT = 'history.replaceState(null, "", location.pathname);'
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(STRIP_TOKEN_SCRIPT.encode()).digest()).decode()
COOKIE_MAX_AGE = 3600

HEADINGS = {
    "discovery": "Continue to sign in",
    "login": "Continue to sign in",
    "signup": "Continue to finish signing up",
    "invite": "Continue to accept your invitation",
}


class LinkPage:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.key = csrf.SharedKey(runtime.engine, runtime.clock)
        self.secure = runtime.settings.public_url.startswith("https://")
        # __Host- cookies must be Secure with Path=/; over plain HTTP (development) a scoped name.
        self.cookie_name = "__Host-tenantry-link" if self.secure else "tenantry-link"
        self.cookie_path = "/" if self.secure else landing.PATH

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.click(request)
        return await self.show(request)

    def _inspect(self, token: str) -> Landing:
        with read_transaction(self.runtime.engine) as conn:
            return landing.inspect(conn, self.runtime.clock, token)

    async def show(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        link = await run_in_threadpool(self._inspect, token)
        if link.state != "ready":
            return self._render_unusable(link, missing=not token)
        nonce = request.cookies.get(self.cookie_name)
        if not csrf.well_formed(nonce):
            nonce = csrf.nonce()
        key = await run_in_threadpool(self.key.get)
        response = self._render(
            200,
            "link_continue.html",
            form_action=landing.PATH,
            extra_form_action=link.destination_origin,
            heading=HEADINGS.get(link.purpose, "Continue"),
            organization_name=link.organization_name,
            destination_host=link.destination_host,
            token=token,
            csrf_field=csrf.field(key, nonce or "", token),
        )
        response.set_cookie(
            self.cookie_name,
            nonce or "",
            max_age=COOKIE_MAX_AGE,
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def click(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token") or "")
        given = str(form.get("csrf") or "")
        key = await run_in_threadpool(self.key.get)
        # Browsers say where a request comes from; a cross-site POST is refused even before the
        # cookie check (which it would fail anyway: the cookie is SameSite=Strict).
        cross_site = request.headers.get("sec-fetch-site") == "cross-site"
        if cross_site or not csrf.verify(key, request.cookies.get(self.cookie_name), token, given):
            return self._render(
                403,
                "link_unusable.html",
                heading="Open the link from your email again",
                message="This page was open too long or came from somewhere else, so it could not be "
                "used. Your link has not been used: open it again from your email.",
            )
        link = await run_in_threadpool(self._inspect, token)
        if link.state != "ready":
            return self._render_unusable(link, missing=False)
        response = RedirectResponse(link.destination(token), status_code=303)
        self._protect(response, extra_form_action="")
        return response

    def _render_unusable(self, link: Landing, *, missing: bool) -> Response:
        if link.state == "spent":
            return self._render(
                410,
                "link_unusable.html",
                heading="This link has expired or was already used",
                message="Sign-in links work once and only for a limited time. Go back to the application "
                "and ask for a new one.",
            )
        if missing:
            message = "This page needs the full link from your email. Open the link from your email again."
        else:
            message = (
                "This link is not valid. Check that you opened the whole link from your email, or ask the "
                "application for a new one."
            )
        return self._render(404, "link_unusable.html", heading="This link cannot be used", message=message)

    def _render(self, status: int, template: str, *, extra_form_action: str = "", **context: Any) -> Response:
        style_nonce = secrets.token_urlsafe(16)
        html = _templates.get_template(template).render(
            style_nonce=style_nonce, strip_token_script=STRIP_TOKEN_SCRIPT, **context
        )
        response = HTMLResponse(html, status_code=status)
        self._protect(response, extra_form_action=extra_form_action, style_nonce=style_nonce)
        return response

    def _protect(self, response: Response, *, extra_form_action: str, style_nonce: str = "") -> None:
        # form-action also governs where the form's redirect may go, hence the destination origin.
        form_action = " ".join(part for part in ("'self'", extra_form_action) if part)
        style = f"'nonce-{style_nonce}'" if style_nonce else "'none'"
        response.headers.update(
            {
                "Cache-Control": "no-store",
                "Pragma": "no-cache",
                "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex, nofollow",
                "X-Content-Type-Options": "nosniff",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; "
                f"style-src {style}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
            }
        )
        if self.secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"


def routes(runtime: Runtime) -> list[Route]:
    return [Route(landing.PATH, LinkPage(runtime).handle, methods=["GET", "POST"])]
