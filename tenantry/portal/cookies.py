"""The portal's cookies: names, flags, and a middleware that sets them on the way out.

Handlers and ``signed_in()`` decide *during* the request that a cookie must change (the idle
clock moved, a CSRF nonce was minted); they queue it on ``request.state`` and
``CookieWriter`` adds the ``Set-Cookie`` headers to whatever response goes out, redirects and
error pages included.

Flags: HttpOnly always; ``SameSite=Lax`` so the GET a magic link makes from the mail client
still carries the cookies; ``Secure`` (and the ``__Host-`` prefix, which requires it and
``Path=/``) when the portal is served over https.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION = "portal-session"
FLOW = "portal-flow"
CSRF = "portal-csrf"

_QUEUE = "portal_cookies"


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool

    def name(self, base: str) -> str:
        return f"__Host-{base}" if self.secure else base

    def header(self, base: str, value: str, *, max_age: int | None) -> str:
        cookie: SimpleCookie = SimpleCookie()
        name = self.name(base)
        cookie[name] = value
        morsel = cookie[name]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if self.secure:
            morsel["secure"] = True
        if max_age is not None:
            morsel["max-age"] = max_age
        return morsel.OutputString()

    def read(self, request: Request, base: str) -> str | None:
        return request.cookies.get(self.name(base))


def queue(request: Request, policy: CookiePolicy, base: str, value: str, *, max_age: int | None = None) -> None:
    """Set this cookie on the response that ends this request (whatever it turns out to be)."""
    pending: dict[str, str] = request.scope.setdefault("state", {}).setdefault(_QUEUE, {})
    pending[base] = policy.header(base, value, max_age=max_age)


def queue_delete(request: Request, policy: CookiePolicy, base: str) -> None:
    queue(request, policy, base, "", max_age=0)


class CookieWriter:
    """Pure ASGI middleware: appends the queued ``Set-Cookie`` headers to the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending = scope.get("state", {}).get(_QUEUE, {})
                if pending:
                    headers = MutableHeaders(scope=message)
                    for header in pending.values():
                        headers.append("set-cookie", header)
            await send(message)

        await self.app(scope, receive, send_with_cookies)
