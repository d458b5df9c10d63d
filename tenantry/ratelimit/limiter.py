"""Admit or refuse one send request: count it per recipient, client address and project."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from tenantry import errors
from tenantry.clock import Clock
from tenantry.config import Settings
from tenantry.ratelimit.counters import Counters, Hit
from tenantry.ratelimit.keys import KeySource, counter_key
from tenantry.ratelimit.rules import Rule, Scope, SendLimit
from tenantry.ratelimit.store import DatabaseCounters

log = logging.getLogger("tenantry.ratelimit")


@dataclass(frozen=True)
class Rules:
    """The configured rule of each scope; None switches that scope off."""

    email: Rule | None
    phone: Rule | None
    ip: Rule | None
    project: Rule | None

    def of(self, scope: Scope) -> Rule | None:
        rule: Rule | None = getattr(self, scope)
        return rule

    @property
    def shortest_window(self) -> int:
        return min((r.window_seconds for r in (self.email, self.phone, self.ip, self.project) if r), default=60)


class RateLimiter:
    def __init__(self, counters: Counters, keys: KeySource, rules: Rules) -> None:
        self.counters = counters
        self.keys = keys
        self.rules = rules
        # Refusals by scope since this process started; the log line below is the durable record.
        self.refusals: Counter[str] = Counter()
        self._refusals_lock = threading.Lock()
        # Told the scope of every refusal (the Prometheus counter, set by create_app).
        self.on_refusal: Callable[[str], None] = lambda _scope: None

    @property
    def counts_anything(self) -> bool:
        """False when every scope is switched off (``TENANTRY_RATE_LIMITS_ENABLED=false``)."""
        return any(self.rules.of(scope) for scope in ("email", "phone", "ip", "project"))

    def admit(self, project_id: str, limit: SendLimit, body: Any, client: str) -> None:
        """Count the request; raise 429 ``too_many_requests`` if any of its scopes is over.

        The recipient counts the same whether or not it belongs to a member: the answer never
        tells a caller which emails are known.
        """
        hits = self._hits(project_id, limit, body, client)
        if not hits:
            return
        refusal = self.counters.hit(hits)
        if refusal is None:
            return
        with self._refusals_lock:
            self.refusals[refusal.scope] += 1
        self.on_refusal(refusal.scope)
        log.info(
            json.dumps(
                {
                    "event": "rate_limited",
                    "scope": refusal.scope,
                    "project_id": project_id,
                    "channel": limit.channel,
                    "retry_after": refusal.retry_after_seconds,
                }
            )
        )
        raise errors.TooManyRequests(retry_after=refusal.retry_after_seconds)

    def _hits(self, project_id: str, limit: SendLimit, body: Any, client: str) -> list[Hit]:
        values: list[tuple[Scope, str | None]] = [
            (limit.scope, limit.recipient_key(body)),
            ("ip", client),
            ("project", project_id),
        ]
        counted = [(scope, value, rule) for scope, value in values if value and (rule := self.rules.of(scope))]
        if not counted:
            return []
        secret = self.keys.secret()
        return [Hit(scope, counter_key(secret, scope, project_id, value), rule) for scope, value, rule in counted]


def build_rate_limiter(settings: Settings, engine: Engine, clock: Clock) -> RateLimiter:
    on = settings.rate_limits_enabled
    rules = Rules(
        email=settings.rate_limit_email if on else None,
        phone=settings.rate_limit_phone if on else None,
        ip=settings.rate_limit_ip if on else None,
        project=settings.rate_limit_project if on else None,
    )
    counters: Counters
    if settings.redis_url:
        # Imported only here: the redis client is ~6 MiB of every worker's memory, and most
        # deployments count in the database.
        from tenantry.ratelimit.redis_store import RedisCounters

        counters = RedisCounters(settings.redis_url)
    else:
        counters = DatabaseCounters(engine, clock, prune_every_seconds=min(60, rules.shortest_window))
    key = settings.rate_limit_key.get_secret_value() if settings.rate_limit_key else None
    return RateLimiter(counters, KeySource(engine, key), rules)
