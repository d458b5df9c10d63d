"""One place turns every failure into Stytch's error body."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from tenantry.api.answer import JsonAnswer
from tenantry.errors import MethodNotAllowed, RouteNotFound, ServiceUnavailable, TenantryError, TooManyRequests
from tenantry.ids import new_request_id

log = logging.getLogger("tenantry.api")


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.state.request_id = new_request_id()
    return rid


def error_response(request: Request, error: TenantryError, extra_headers: dict[str, str] | None = None) -> JsonAnswer:
    headers = dict(extra_headers or {})
    if error.status_code == 503:
        headers["Retry-After"] = "1"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return JsonAnswer(
        {
            "status_code": error.status_code,
            "request_id": request_id_of(request),
            "error_type": error.error_type,
            "error_message": error.message,
            "error_url": error.error_url,
        },
        status_code=error.status_code,
        headers=headers,
    )


async def on_tenantry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenantryError)
    return error_response(request, exc)


def _allowed_methods(request: Request) -> list[str]:
    # The first route that matched the path (method aside) is the one Starlette refused; other
    # routes with the same template serve other methods. A different template that happens to
    # match too (/organizations/{id} for /organizations/search) is another resource.
    routes = [r for r in request.app.routes if isinstance(r, Route) and r.methods]
    matched = next((r for r in routes if r.matches(request.scope)[0] != Match.NONE), None)
    if matched is None:
        return []
    return sorted(set().union(*(r.methods or set() for r in routes if r.path == matched.path)))


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # RFC 9110: a 405 names the methods the path allows, across every route serving it.
        return error_response(request, MethodNotAllowed(), {"Allow": ", ".join(_allowed_methods(request))})
    if exc.status_code == 404:
        return error_response(request, RouteNotFound())
    error = TenantryError(str(exc.detail))
    return error_response(request, error)


def unexpected(request: Request, exc: Exception) -> TenantryError:
    """What the client learns of a failure we did not plan for: 503 while the database is
    unreachable (clients may retry), else a bare 500. The detail goes to the log only."""
    if isinstance(exc, OperationalError | PoolTimeout) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        return ServiceUnavailable()
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return TenantryError()


async def on_unexpected(request: Request, exc: Exception) -> Response:
    return error_response(request, unexpected(request, exc))
