"""Prometheus metrics: requests and latency per route template, rate-limit refusals, and the
outbox depth read from the database when Prometheus scrapes.

Several workers (``tenantry serve --workers N``) are separate processes, each with its own
counters. ``serve`` then points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the
workers start, prometheus_client keeps every counter in a file there, and a scrape, whichever
worker answers it, adds up the files of all of them. The variable must be set before
prometheus_client is imported, which is why ``serve`` sets it and workers inherit it.

Nothing secret is exported: labels are HTTP methods, route templates (``/v1/b2b/organizations/
{organization_id}``, never the path with its ids), status codes, rate-limit scopes and outbox
states. ``TENANTRY_METRICS_TOKEN``, when set, makes the endpoint ask for it as a bearer token.
"""

from __future__ import annotations

import functools
import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tenantry.observability.outbox import OutboxCollector

REQUESTS = Counter(
    "tenantry_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "tenantry_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter(
    "tenantry_rate_limited",
    "Send requests refused with 429 too_many_requests, by the scope whose limit was reached.",
    ["scope"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    count, latency = _request_series(method, route, status)
    count.inc()
    latency.observe(seconds)


# The labelled series of a (method, route, status), looked up once: ``labels()`` validates and
# locks on every call. Bounded, though routes are templates, because the method is the client's.
@functools.lru_cache(maxsize=4096)
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


def rate_limited(scope: str) -> None:
    RATE_LIMITED.labels(scope).inc()


def _process_metrics() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


class MetricsEndpoint:
    """``GET /metrics`` in Prometheus' text format."""

    def __init__(self, outbox: OutboxCollector, token: str | None) -> None:
        self.database = CollectorRegistry(auto_describe=False)
        self.database.register(outbox)
        self.token = token

    def _authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    async def endpoint(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response("metrics need the bearer token\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
        # The outbox query and the multiprocess file merge both block: keep them off the loop.
        body = await run_in_threadpool(lambda: _process_metrics() + generate_latest(self.database))
        return Response(body, media_type=CONTENT_TYPE_LATEST)
