"""The composition root: ``create_app(settings)`` wires engine, clock, mailer and routes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from tenantry.api import errors as api_errors
from tenantry.api.routes import ROUTES
from tenantry.clock import Clock, SystemClock
from tenantry.config import Settings, load_settings
from tenantry.db.checkpointer import BACKSTOP_PAGES, WalCheckpointer
from tenantry.db.engine import create_engine, create_loop_reader, database_threads
from tenantry.db.loop_reader import LoopReader
from tenantry.email.backends import DevMailbox, MailBackend, SmtpBackend
from tenantry.email.delivery import DeliveryLoop, delivery_policy
from tenantry.errors import TenantryError
from tenantry.gc_pauses import start_up_objects_frozen
from tenantry.mfa import vault
from tenantry.observability import health, metrics
from tenantry.observability.outbox import OutboxCollector
from tenantry.observability.requests import RequestLog
from tenantry.portal import dev as portal_dev
from tenantry.ratelimit.limiter import build_rate_limiter
from tenantry.runtime import Runtime
from tenantry.sms import wiring as sms_wiring
from tenantry.web import dev_mailbox, links


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
    checkpointer = WalCheckpointer.for_url(settings.database_url)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        wal_autocheckpoint=BACKSTOP_PAGES if checkpointer else None,
    )
    vault.configure_process_key(settings.mfa_key.get_secret_value() if settings.mfa_key else None)
    rate_limiter = build_rate_limiter(settings, engine, clock)
    rate_limiter.on_refusal = metrics.rate_limited
    reader_engine = create_loop_reader(settings.database_url)
    loop_reader = LoopReader(reader_engine) if reader_engine is not None else None
    runtime = Runtime(settings=settings, engine=engine, clock=clock, rate_limiter=rate_limiter, loop_reader=loop_reader)
    backend = _backend(settings)
    delivery = DeliveryLoop(engine, clock, backend, delivery_policy(settings))
    sms = sms_wiring.build(settings, engine, clock)

    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    routes: list[Any] = [
        *ROUTES,
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.Readiness(engine).endpoint, methods=["GET"]),
        Route("/metrics", metrics.MetricsEndpoint(OutboxCollector(engine), token).endpoint, methods=["GET"]),
        *links.routes(runtime),
    ]
    if settings.dev_mailbox_enabled and isinstance(backend, DevMailbox):
        routes += dev_mailbox.routes(backend, engine)
    routes += sms.routes
    routes += portal_dev.dev_routes(settings, engine)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every run_in_threadpool of this worker's event loop draws on this limiter.
        anyio.to_thread.current_default_thread_limiter().total_tokens = database_threads(
            settings.database_url, settings.db_threads, settings.db_pool_size + settings.db_max_overflow
        )
        # A worker's database threads and its event loop share one GIL. A thread inside a write
        # transaction that wants the GIL back waits until the holder is asked to let go, up to this
        # interval, while every other writer (of every worker, on SQLite) waits for the write lock.
        # In seven paired runs of the onboarding benchmark (SQLite, 1 worker) 1 ms instead of 5 gave
        # a median 41.6 against 38.4 journeys/s and 23.0 against 24.8 ms of CPU per journey, five
        # pairs of seven in its favour (the machine's own noise is about 20 %).
        sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
        runtime.wake_mailer = delivery.wake
        runtime.mail_loop = delivery
        task = asyncio.create_task(delivery.run_forever())
        runtime.wake_sms = sms.delivery.wake
        sms.start()
        if checkpointer is not None:
            checkpointer.start()
        try:
            with start_up_objects_frozen():
                yield
        finally:
            if checkpointer is not None:
                checkpointer.stop()
            await sms.stop()
            runtime.mail_loop = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):  # the database may be away: then the leases lapse
                await anyio.to_thread.run_sync(delivery.give_back)
            engine.dispose()
            if loop_reader is not None:
                loop_reader.dispose()

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
    app.state.checkpointer = checkpointer
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn workers: each builds its own app from TENANTRY_* variables."""
    return create_app(load_settings())
