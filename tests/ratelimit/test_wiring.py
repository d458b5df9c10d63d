"""Every route that sends mail or SMS declares its rate limit."""

from __future__ import annotations

import re

from tenantry.api.routes import ROUTES
from tenantry.clock import SystemClock
from tenantry.config import Settings
from tenantry.db.engine import create_engine
from tenantry.ratelimit.limiter import build_rate_limiter

# A route sends when its last segment says so (…/send, …/login_or_signup, …/invite).
SENDS = re.compile(r"/(send|login_or_signup|invite)$")

KNOWN_SEND_ROUTES = {
    "/v1/b2b/magic_links/email/discovery/send",
    "/v1/b2b/magic_links/email/login_or_signup",
    "/v1/b2b/magic_links/email/invite",
    "/v1/b2b/otps/email/discovery/send",
    "/v1/b2b/otps/email/login_or_signup",
    "/v1/b2b/otps/sms/send",
}


def test_every_send_route_is_rate_limited() -> None:
    send_routes = {route.path: route for route in ROUTES if SENDS.search(route.path)}
    assert KNOWN_SEND_ROUTES <= set(send_routes)
    unlimited = [path for path, route in send_routes.items() if getattr(route.endpoint, "send_limit", None) is None]
    assert unlimited == []


def test_no_other_route_is_rate_limited() -> None:
    limited = [route.path for route in ROUTES if getattr(route.endpoint, "send_limit", None) is not None]
    assert all(SENDS.search(path) for path in limited), limited


def test_switched_off_limits_count_nothing(tmp_path) -> None:
    # With every scope off, send routes skip the counting step (and its project lookup) entirely.
    engine = create_engine(f"sqlite:///{tmp_path / 'limits.db'}")
    try:
        off = build_rate_limiter(Settings(rate_limits_enabled=False), engine, SystemClock())
        on = build_rate_limiter(Settings(rate_limits_enabled=True), engine, SystemClock())
    finally:
        engine.dispose()
    assert off.counts_anything is False
    assert on.counts_anything is True
