"""``create_portal(settings, engine)``: the portal as one Starlette app.

``tenantry serve`` mounts it at ``/portal`` in development; ``tenantry portal`` serves it on its
own against any Stytch-compatible API. Each area exposes ``routes()``; this module only joins
them and adds what every response needs: security headers, queued cookies, error pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.portal import pages
from tenantry.portal.audit import routes as audit_routes
from tenantry.portal.auth import routes as auth_routes
from tenantry.portal.client import build_client
from tenantry.portal.clinics import routes as clinic_routes
from tenantry.portal.context import PageError, Portal, Redirect
from tenantry.portal.cookies import CookiePolicy, CookieWriter
from tenantry.portal.settings import PortalSettings
from tenantry.portal.signing import Signer
from tenantry.portal.team import routes as team_routes

STATIC_DIR = Path(__file__).parent / "static"


class SecurityHeaders:
    """Adds the portal's security headers to every response (pages, redirects, CSS, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                for name, value in pages.SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _on_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(pages.url_for_path(request, exc.path), status_code=303)


async def _on_page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return pages.render(
        request, "portal/problem.html", {"title": exc.title, "message": exc.message}, status_code=exc.status_code
    )


def create_portal(settings: PortalSettings, engine: Engine) -> Starlette:
    routes: list[BaseRoute] = [
        *auth_routes.routes(),
        *clinic_routes.routes(),
        *team_routes.routes(),
        *audit_routes.routes(),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    exception_handlers: dict[Any, Any] = {Redirect: _on_redirect, PageError: _on_page_error}
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(CookieWriter)],
        exception_handlers=exception_handlers,
    )
    app.state.portal = Portal(
        settings=settings,
        engine=engine,
        client=build_client(settings),
        signer=Signer(settings.cookie_keys),
        cookies=CookiePolicy(secure=settings.secure_cookies),
    )
    return app
