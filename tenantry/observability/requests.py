"""The outermost middleware: a request id, one access log line and the request metrics."""

from __future__ import annotations

import logging
import time

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.ids import new_request_id
from tenantry.observability import metrics
from tenantry.observability.logs import request_id_var

access_log = logging.getLogger("tenantry.access")

# Paths no route matched are counted under one label: raw paths would let any client create
# a time series per URL it makes up.
UNMATCHED = "unmatched"


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that served the request (``/v1/b2b/organizations/{organization_id}``).

    Starlette's router leaves the route it chose in ``scope["route"]``; a ``Mount`` adds what it
    matched to ``root_path`` before its own router picks the inner route.
    """
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    if path is None:
        return UNMATCHED
    mounted = scope.get("root_path", "")[len(root_path) :]
    return mounted + path


class RequestLog:
    """Gives each request an id (in ``request.state``, the log context and the ``X-Request-Id``
    header; Stytch bodies echo it as ``request_id``) and writes one access line: method, path
    without the query string (tokens never travel there, but be sure), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, root_path)
            metrics.observe_request(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    },
                )
            request_id_var.reset(token)
