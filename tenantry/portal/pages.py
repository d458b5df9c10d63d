"""Server-rendered pages: Jinja2 with autoescaping, one base layout, strict security headers.

Every template extends ``portal/base.html`` and fills ``{% block title %}`` and
``{% block content %}``. ``render`` gives each template ``csrf_token``, ``me`` (the
``SignedIn`` of this request, if ``signed_in()`` ran) and ``url(path)``, which prefixes the
portal's mount path so the same templates work at ``/portal`` and standalone at ``/``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tenantry.portal.csrf import csrf_token

_templates = Environment(
    loader=PackageLoader("tenantry.portal", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)

# No inline script or style anywhere: pages work without JavaScript and the CSS is a file.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Magic-link URLs carry tokens: never tell another site where the person came from.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def url_for_path(request: Request, path: str) -> str:
    """``path`` inside the portal, prefixed with the mount point (``/portal`` in ``tenantry serve``)."""
    return request.scope.get("root_path", "").rstrip("/") + path


def render(request: Request, template_name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    template = _templates.get_template(template_name)
    values = {
        "csrf_token": csrf_token(request),
        "me": request.scope.get("state", {}).get("portal_signed_in"),
        "url": lambda path: url_for_path(request, path),
        **context,
    }
    response = HTMLResponse(template.render(values), status_code=status_code)
    # Pages show personal data and session state: nothing may be cached or replayed from cache.
    response.headers["Cache-Control"] = "no-store"
    return response
