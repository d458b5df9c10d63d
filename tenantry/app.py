"""The composition root: ``create_app(settings)`` wires engine, clock, mailer and routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantry.api import errors as api_errors
from tenantry.api.routes import ROUTES
from tenantry.clock import Clock, SystemClock
from tenantry.config import Settings, load_settings
from tenantry.db.engine import create_engine
from tenantry.email.backends import DevMailbox, MailBackend, SmtpBackend
from tenantry.email.delivery import DeliveryLoop, delivery_policy
from tenantry.errors import TenantryError
from tenantry.ids import new_request_id
from tenantry.mfa import vault
from tenantry.ratelimit.limiter import build_rate_limiter
from tenantry.runtime import Runtime
from tenantry.sms import wiring as sms_wiring
from tenantry.web import dev_mailbox, links

access_log = logging.getLogger("tenantry.access")


class RequestLog:
    """Gives each request an id and writes one JSON access line: method, path without the
    query string (tokens never travel there, but be sure), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    )
                )


def _backend(settings: Settings) -> MailBackend:
    if settings.smtp_url:
        return SmtpBackend(settings.smtp_url, timeout=settings.mail_lease_seconds / 2)
    if settings.mode == "production":
        # Mail nobody can read is mail lost: production refuses to start without a real relay.
        raise RuntimeError("TENANTRY_MODE=production needs TENANTRY_SMTP_URL (smtp:// or smtps://)")
    return DevMailbox(settings.dev_mailbox_dir)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Starlette:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    vault.configure_process_key(settings.mfa_key.get_secret_value() if settings.mfa_key else None)
    rate_limiter = build_rate_limiter(settings, engine, clock)
    runtime = Runtime(settings=settings, engine=engine, clock=clock, rate_limiter=rate_limiter)
    backend = _backend(settings)
    delivery = DeliveryLoop(engine, clock, backend, delivery_policy(settings))
    sms = sms_wiring.build(settings, engine, clock)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[Any] = [*ROUTES, Route("/healthz", healthz, methods=["GET"]), *links.routes(runtime)]
    if settings.dev_mailbox_enabled and isinstance(backend, DevMailbox):
        routes += dev_mailbox.routes(backend, engine)
    routes += sms.routes

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runtime.wake_mailer = delivery.wake
        task = asyncio.create_task(delivery.run_forever())
        runtime.wake_sms = sms.delivery.wake
        sms.start()
        try:
            yield
        finally:
            await sms.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            engine.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestLog)],
        exception_handlers={
            TenantryError: api_errors.on_tenantry_error,
            HTTPException: api_errors.on_http_exception,
            Exception: api_errors.on_unexpected,
        },
    )
    app.state.runtime = runtime
    app.state.delivery = delivery
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn workers: each builds its own app from TENANTRY_* variables."""
    return create_app(load_settings())
