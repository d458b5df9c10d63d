"""The counter backends on their own: fixed windows, exact counts under concurrency, pruning.

Real databases (SQLite, PostgreSQL) and a real Redis; time is a FrozenClock for the database
counters and the Redis server's own clock for Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry import errors
from tenantry.clock import FrozenClock
from tenantry.db.schema import rate_limit_counters
from tenantry.ratelimit.counters import Counters, Hit, Refusal
from tenantry.ratelimit.redis_store import RedisCounters
from tenantry.ratelimit.rules import Rule
from tenantry.ratelimit.store import DatabaseCounters


@pytest.fixture
def redis_counters(redis_url: str) -> Iterator[RedisCounters]:
    counters = RedisCounters(redis_url)
    yield counters
    counters.close()
    redis.Redis.from_url(redis_url).flushdb()


def hit(scope: str, key: str, count: int, window: int) -> Hit:
    return Hit(scope, key, Rule(count, window))  # type: ignore[arg-type]


def rows(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        result = conn.execute(sa.select(rate_limit_counters).order_by(rate_limit_counters.c.key_digest))
        return [(r.scope, r.key_digest, r.hits) for r in result]


def test_database_window_counts_refuses_and_restarts(engine: Engine) -> None:
    clock = FrozenClock()
    counters = DatabaseCounters(engine, clock, prune_every_seconds=60)
    email = hit("email", "a" * 64, 2, 10)
    assert counters.hit([email]) is None
    clock.advance(seconds=3)
    assert counters.hit([email]) is None
    clock.advance(seconds=3)
    # The window opened with the first request: 4 of its 10 seconds are left.
    assert counters.hit([email]) == Refusal("email", 4)
    clock.advance(seconds=4)
    assert counters.hit([email]) is None
    assert rows(engine) == [("email", "a" * 64, 1)]


def test_database_stops_at_the_first_refusing_scope(engine: Engine) -> None:
    counters = DatabaseCounters(engine, FrozenClock(), prune_every_seconds=60)
    email, ip, project = hit("email", "e" * 64, 1, 60), hit("ip", "i" * 64, 10, 60), hit("project", "p" * 64, 10, 60)
    assert counters.hit([email, ip, project]) is None
    assert counters.hit([email, ip, project]) == Refusal("email", 60)
    # The refused request counted for its email only: hammering one address spares the
    # address's and the project's quota.
    assert rows(engine) == [("email", "e" * 64, 2), ("ip", "i" * 64, 1), ("project", "p" * 64, 1)]


def test_database_prunes_ended_windows(engine: Engine) -> None:
    clock = FrozenClock()
    counters = DatabaseCounters(engine, clock, prune_every_seconds=5)
    counters.hit([hit("email", "old".ljust(64, "0"), 5, 2)])
    clock.advance(seconds=5)
    counters.hit([hit("email", "new".ljust(64, "0"), 5, 60)])
    assert [key for _, key, _ in rows(engine)] == ["new".ljust(64, "0")]


def admitted_of_concurrent(counters: Counters, callers: int, rule_count: int) -> int:
    barrier = threading.Barrier(callers)
    answers: list[Refusal | None] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait()
            answers.append(counters.hit([hit("email", "c" * 64, rule_count, 60)]))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return sum(answer is None for answer in answers)


def test_database_counts_exactly_under_concurrency(engine: Engine) -> None:
    counters = DatabaseCounters(engine, FrozenClock(), prune_every_seconds=60)
    assert admitted_of_concurrent(counters, callers=16, rule_count=5) == 5
    assert rows(engine) == [("email", "c" * 64, 16)]


def test_redis_counts_exactly_under_concurrency(redis_counters: RedisCounters) -> None:
    assert admitted_of_concurrent(redis_counters, callers=16, rule_count=5) == 5


def test_redis_window_refuses_then_expires(redis_counters: RedisCounters, redis_url: str) -> None:
    email, project = hit("email", "r" * 64, 2, 1), hit("project", "p" * 64, 100, 60)
    assert redis_counters.hit([email, project]) is None
    assert redis_counters.hit([email, project]) is None
    assert redis_counters.hit([email, project]) == Refusal("email", 1)
    client = redis.Redis.from_url(redis_url)
    # The refused request did not reach the project's counter, and every key expires.
    assert int(client.get("tenantry:ratelimit:project:" + "p" * 64) or 0) == 2
    assert 0 < client.pttl("tenantry:ratelimit:email:" + "r" * 64) <= 1000
    time.sleep(1.1)
    assert redis_counters.hit([email]) is None


def test_redis_unreachable_answers_503_not_admission() -> None:
    # A port nobody listens on: the limiter fails closed.
    counters = RedisCounters("redis://127.0.0.1:9/0")
    with pytest.raises(errors.ServiceUnavailable):
        counters.hit([hit("email", "x" * 64, 1, 60)])
