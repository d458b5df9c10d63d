"""Counters in the database: one committed transaction per request, an atomic upsert per scope.

``INSERT … ON CONFLICT DO UPDATE … RETURNING`` increments the counter or, when its window has
passed, restarts it at 1 — in one statement, so concurrent requests on any number of processes
never lose a count (PostgreSQL locks the row; SQLite has one writer). Rows whose window ended
are deleted now and then by whichever process gets there.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from tenantry.clock import Clock, as_utc
from tenantry.db.engine import write_transaction
from tenantry.db.schema import Timestamp, rate_limit_counters
from tenantry.ratelimit.counters import Hit, Refusal, retry_after

table = rate_limit_counters


def increment(conn: Connection, hit: Hit, now: datetime) -> tuple[int, datetime]:
    """Count one request under ``hit``; returns the count in the current window and its end."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    window_end = now + timedelta(seconds=hit.rule.window_seconds)
    expired = table.c.expires_at <= sa.literal(now, Timestamp)
    stmt = (
        insert(table)
        .values(scope=hit.scope, key_digest=hit.key, hits=1, expires_at=window_end)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key_digest],
            # Both expressions read the row as it was before this update.
            set_={
                "hits": sa.case((expired, 1), else_=table.c.hits + 1),
                "expires_at": sa.case((expired, sa.literal(window_end, Timestamp)), else_=table.c.expires_at),
            },
        )
        .returning(table.c.hits, table.c.expires_at)
    )
    row = conn.execute(stmt).one()
    return row.hits, as_utc(row.expires_at)


def prune(conn: Connection, now: datetime) -> int:
    return conn.execute(table.delete().where(table.c.expires_at <= now)).rowcount


class DatabaseCounters:
    def __init__(self, engine: Engine, clock: Clock, *, prune_every_seconds: int) -> None:
        self._engine = engine
        self._clock = clock
        self._prune_every = timedelta(seconds=prune_every_seconds)
        self._next_prune: datetime | None = None
        self._lock = threading.Lock()

    def hit(self, hits: list[Hit]) -> Refusal | None:
        now = self._clock.now()
        refusal = None
        # Committed on its own, before and whatever the handler does: a refusal or a failed
        # send keeps its count, and the handler's write lock never waits on this one.
        with write_transaction(self._engine) as conn:
            for hit in hits:
                count, window_end = increment(conn, hit, now)
                if count > hit.rule.count:
                    refusal = Refusal(hit.scope, retry_after((window_end - now).total_seconds()))
                    break
        self._maybe_prune(now)
        return refusal

    def _maybe_prune(self, now: datetime) -> None:
        # Once per interval per process, in its own transaction: deleting in the counting
        # transaction could lock rows in another order than concurrent upserts (deadlocks).
        with self._lock:
            if self._next_prune is not None and now < self._next_prune:
                return
            self._next_prune = now + self._prune_every
        with write_transaction(self._engine) as conn:
            prune(conn, now)
