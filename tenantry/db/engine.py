"""Engine construction for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenantry import json_codec
from tenantry.db import statistics
from tenantry.db.urls import is_sqlite, normalise_url, sqlite_file
from tenantry.db.writer_queue import WriterQueue, lock_path


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 2.0,
    connect_timeout: int = 2,
    statement_timeout_ms: int = 0,
    wal_autocheckpoint: int | None = None,
) -> Engine:
    """``pool_pre_ping`` tests a pooled connection before lending it, so after a database
    restart the dead connections are replaced without a restart of ours; the short timeouts make
    a request fail with 503 within about two seconds while the database is away.
    ``statement_timeout_ms`` (PostgreSQL; 0 = none) cancels a statement that runs longer, so a
    hung server or a lock held elsewhere cannot hold a request forever (SQLSTATE 57014: 503).
    ``wal_autocheckpoint`` (SQLite; None = SQLite's default) is the log size in pages at which a
    commit checkpoints (``tenantry.db.checkpointer``)."""
    url = normalise_url(url)
    if is_sqlite(url):
        return _sqlite_engine(url, pool_size=pool_size, wal_autocheckpoint=wal_autocheckpoint)
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        connect_args={"connect_timeout": connect_timeout}
        | ({"options": f"-c statement_timeout={statement_timeout_ms:d}"} if statement_timeout_ms else {}),
        # Error messages would otherwise embed bound parameters, mail bodies with live links among them.
        hide_parameters=True,
    )
    statistics.analyse_when_changed(engine)  # planner statistics without autovacuum's minute
    return engine


# One thread on SQLite. Its one writer and the GIL make more threads contend rather than work, and
# each thread holds a connection of its own: SQLite drops a connection's page cache whenever another
# connection has committed since its last transaction, so with several threads taking turns every
# transaction began by reading its pages again. Counted with strace on the onboarding journey
# (1 worker) at the same work done: 4 threads made 40079 pread and 63580 futex calls, 1 thread 3212
# and 22355. In paired runs (same machine, configurations alternating) 1 thread was ahead of 4 in
# most pairs, by a median ~15 % in journeys/s, with 1 worker and with 2 (earlier, 4 threads had taken
# ~10 % less CPU per journey than anyio's default 40). Short reads of the event loop do not wait for
# this thread (``create_loop_reader``).
SQLITE_THREADS = 1


def database_threads(url: str, configured: int | None, connections: int) -> int:
    """Threads a worker runs database work on. On PostgreSQL, as many as the pool has
    ``connections`` (pool size + overflow): with anyio's default 40 threads over 20 connections,
    a burst's 21st request waited in a thread for a connection, and answered 503 if none came free
    within ``TENANTRY_DB_POOL_TIMEOUT`` (2 s); now it waits for a thread, in order."""
    if configured is not None:
        return configured
    return SQLITE_THREADS if is_sqlite(normalise_url(url)) else connections


def create_loop_reader(url: str) -> Engine | None:
    """A one-connection engine for short reads run on the event loop itself, or None where that
    would not pay (see ``tenantry.api.endpoint``).

    On a SQLite file a read-mostly request (``sessions.authenticate``) takes ~0.1 ms of database
    time; handing it to the thread pool cost several times that in thread switches and GIL
    contention, and halved the worker's throughput. A WAL reader does not wait for writers, and
    its busy timeout is zero, so the rare wait it would otherwise spend blocking the loop (WAL
    recovery, a checkpoint resetting the log) sends the request to the thread pool instead. On
    PostgreSQL every read is a network round trip, which must never block the loop.

    Writes stay in the thread pool: run on the loop too (tried, with a try-lock and a zero busy
    timeout) they saved nothing measurable on the onboarding journey, whose requests cost
    milliseconds of their own, and they would let one worker's loop starve other workers' writers.
    """
    if sqlite_file(url) is None:
        return None  # PostgreSQL; or in-memory SQLite, where a second engine would open a second, empty database
    url = normalise_url(url)
    # Autocommit: each statement reads its own snapshot, without the BEGIN and COMMIT round
    # trips (~10 % of a sessions.authenticate); its reads need no snapshot in common.
    return _sqlite_engine(url, pool_size=1, busy_timeout_ms=0, transactions=False)


def _sqlite_engine(
    url: str,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 30000,
    transactions: bool = True,
    wal_autocheckpoint: int | None = None,
) -> Engine:
    database = sqlite_file(url)
    kwargs: dict[str, Any] = {}
    if database is not None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Concurrent reads (WAL) each hold a connection. SQLAlchemy's default pool keeps 5 and
        # closes overflow ones on return, so under load connections were opened, set up (the
        # PRAGMAs below) and closed per request: ~6 % of a busy worker. Keep as many as the PG pool.
        # Last in, first out: a connection's page cache survives only its own commits (SQLite drops
        # it when another connection has written since), so the connection used last is the one
        # most likely to still hold the pages the next transaction needs.
        kwargs = {"pool_size": pool_size, "max_overflow": pool_size, "pool_use_lifo": True}
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        hide_parameters=True,
        # SQLite hands JSON columns over as text (PostgreSQL's driver decodes them itself).
        json_deserializer=json_codec.loads_stored,
        **kwargs,
    )
    writer_lock = lock_path(database) if database is not None else None
    _sqlite_writers[engine] = WriterQueue(writer_lock, busy_timeout_ms / 1000)
    statistics.keep_current(engine)  # planner statistics: refreshed, and reloaded by pooled connections

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        if wal_autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={wal_autocheckpoint:d}")
        cursor.close()

    if not transactions:
        return engine

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY when
        # another process wrote in between, and the busy timeout does not help it.
        # Write transactions therefore take the write lock up front.
        if conn.get_execution_options().get("tenantry_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


# SQLite has one writer. Threads of one process that wait for it inside SQLite's busy handler
# sleep 1, 2, 5, 10 … ms between tries while the lock is long free again: under load a worker
# idled with requests queued. They queue on this lock instead and are woken as soon as it is
# released, and on a file database so do other processes (workers): see tenantry.db.writer_queue.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One all-or-nothing transaction for a change that touches several rows."""
    with (
        _sqlite_writers.get(engine) or nullcontext(),
        engine.connect().execution_options(tenantry_write=True) as conn,
        conn.begin(),
    ):
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
