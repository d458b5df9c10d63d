"""Query-planner statistics that Tenantry keeps up to date itself.

SQLite plans from ``sqlite_stat1``, which only ``ANALYZE`` writes. Without it the planner rates
indexes by their shape alone, and between two indexes with one equality column each it takes
whichever was created last, so the same query could walk a whole project on one installation and
one organization on the next (member search on the 1M-member benchmark: 2.7 s vs 0.1 ms).
Queries that matter therefore get indexes that are right without statistics (migration 0011),
and statistics are kept current besides, for everything else:

- after migrations (``tenantry.db.migrate.upgrade``, which every start-up runs) and then every
  ``REFRESH_SECONDS`` in each process that uses the database (a background thread, started when a
  connection is checked out and a refresh is due);
- SQLite >= 3.46: ``PRAGMA optimize=0x10002`` (what SQLite recommends for long-lived
  connections: it looks at every table and re-analyses those that changed tenfold, with a row
  limit); older SQLite (3.40 here): ``ANALYZE`` with ``PRAGMA analysis_limit=1000``, which samples
  about a thousand rows per index: 11 ms on the 1.8 GB benchmark database;
- SQLite loads statistics when a connection opens, and pooled connections live for hours: after
  a refresh, each connection re-reads them (``ANALYZE sqlite_schema``, ~0.2 ms) the next time it
  is checked out.

PostgreSQL's autovacuum analyses a table once 10 % of it (plus 50 rows) has changed, but only on
its rounds, a minute apart (``autovacuum_naptime``), and the first analysis of a new database's
tables waits for it. That minute mattered: psycopg prepares a statement it runs often, and
PostgreSQL keeps a prepared statement's generic plan until its table is analysed. Planned with no
statistics, every equality looks selective, so ``project_id = ? AND email_address = ?`` rated
``ix_members_project_org_member`` (project only) as cheap as the email index and took it: until
the first analysis, every discovery walked all of the project's members (4–7 ms per call at 8k
members in the onboarding benchmark, growing with every sign-up). A plan made from statistics
taken on a small table ages the same way as the table grows (a sequential scan, right for 90 rows,
stays until the next analysis). So each process also looks, every ``ANALYSIS_CHECK_SECONDS`` (a
background thread, started on checkout like SQLite's refresh), for tables that have changed by as
much as autovacuum waits for (``ANALYSIS_BASE_CHANGES`` rows plus ``ANALYSIS_SCALE`` of the
table), and analyses them at once instead of within the minute. A table that grows fast is
analysed every few seconds while small; a large one rarely changes by a tenth.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.outage import OutageLog, is_unavailable
from tenantry.db.urls import sqlite_file

log = logging.getLogger(__name__)

REFRESH_SECONDS = 600.0
ANALYSIS_LIMIT = 1000
_GENERATION = "tenantry_statistics_generation"


class _Keeper:
    """One per SQLite file: when its statistics were last refreshed, and their generation."""

    def __init__(self) -> None:
        self.generation = 0
        self.last_refresh = time.monotonic()
        self.running = False
        self.lock = threading.Lock()

    def refreshed(self) -> None:
        with self.lock:
            self.generation += 1
            self.last_refresh = time.monotonic()


# By database file: the request engine and the event loop's reader of one file share a keeper.
_keepers: dict[str, _Keeper] = {}
_keepers_lock = threading.Lock()


def _database_file(engine: Engine) -> str | None:
    database = sqlite_file(engine.url.render_as_string(hide_password=False))
    return None if database is None else os.path.abspath(database)


def _keeper(database: str) -> _Keeper:
    with _keepers_lock:
        return _keepers.setdefault(database, _Keeper())


def keep_current(engine: Engine) -> None:
    """Refresh the statistics of ``engine``'s SQLite file every REFRESH_SECONDS and make its
    pooled connections reload them after each refresh. ``tenantry.db.engine`` calls it."""
    database = _database_file(engine)
    if database is None:
        return
    keeper = _keeper(database)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_GENERATION] = keeper.generation  # a new connection loads current statistics

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if record.info.get(_GENERATION) != keeper.generation:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("ANALYZE sqlite_schema")
            finally:
                cursor.close()
            record.info[_GENERATION] = keeper.generation
        if time.monotonic() - keeper.last_refresh >= REFRESH_SECONDS:
            with keeper.lock:
                if keeper.running or time.monotonic() - keeper.last_refresh < REFRESH_SECONDS:
                    return
                keeper.running = True
            threading.Thread(target=_refresh_in_background, args=(engine, keeper), daemon=True).start()


# -- PostgreSQL: analyses as autovacuum would make them, without its minute between rounds -------

ANALYSIS_CHECK_SECONDS = 5.0
# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor's defaults: a table is analysed
# after as many changes as autovacuum waits for, only sooner.
ANALYSIS_BASE_CHANGES = 50
ANALYSIS_SCALE = 0.1

# Only tables this role may analyse: for any other, ANALYZE warns (in PostgreSQL's log) and skips,
# and it would do so again on every check.
_CHANGED = sa.text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.schemaname = current_schema() AND pg_has_role(c.relowner, 'USAGE')"
    " AND s.n_mod_since_analyze >= :base + :scale * greatest(c.reltuples, 0) ORDER BY s.relname"
)


class _Analyses:
    """One per PostgreSQL engine: when it last looked for tables due an analysis."""

    def __init__(self) -> None:
        # The first look comes a period after the engine is made: a command (migrate, keys rotate)
        # is done by then, and leaves no analysis half-run behind it.
        self.last_check = time.monotonic()
        self.running = False
        self.outage = OutageLog(log, "planner statistics")
        self.lock = threading.Lock()


def analyse_when_changed(engine: Engine) -> None:
    """Look for tables due an analysis every ANALYSIS_CHECK_SECONDS (on a checkout, in a
    background thread) and analyse them. ``tenantry.db.engine`` calls it for PostgreSQL."""
    state = _Analyses()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if time.monotonic() - state.last_check < ANALYSIS_CHECK_SECONDS:
            return
        with state.lock:
            if state.running or time.monotonic() - state.last_check < ANALYSIS_CHECK_SECONDS:
                return
            state.running = True
            state.last_check = time.monotonic()
        threading.Thread(target=_analyse_in_background, args=(engine, state), daemon=True).start()


def _analyse_in_background(engine: Engine, state: _Analyses) -> None:
    try:
        analyse_changed(engine)
    except Exception as exc:  # look again next period
        if is_unavailable(exc):
            state.outage.failed(exc)  # one warning per outage, not one per period
        else:
            log.exception("planner statistics: analysis failed")
    else:
        state.outage.succeeded()
    finally:
        state.running = False


def analyse_changed(engine: Engine) -> list[str]:
    """Analyse the tables of ``engine``'s schema that autovacuum would analyse on its next round;
    their names. ANALYZE takes no lock that blocks reads or writes, and it makes every connection
    plan the table's statements again. A table that another worker (or autovacuum) is analysing
    at the moment is skipped (``SKIP_LOCKED``): its statistics are on their way."""
    with engine.connect() as conn:
        names = list(conn.execute(_CHANGED, {"base": ANALYSIS_BASE_CHANGES, "scale": ANALYSIS_SCALE}).scalars())
        conn.commit()
        for name in names:
            conn.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {conn.dialect.identifier_preparer.quote(name)}")
            conn.commit()  # one table at a time: each ANALYZE's snapshot ends with it
    if names:
        log.info("analysed %s for the query planner", ", ".join(names))
    return names


def _refresh_in_background(engine: Engine, keeper: _Keeper) -> None:
    try:
        refresh_now(engine)
    except Exception as exc:  # a busy or unreachable database: try again next period
        keeper.last_refresh = time.monotonic()
        log.warning("planner statistics not refreshed: %s", type(exc).__name__)
    finally:
        keeper.running = False


def refresh_now(engine: Engine) -> None:
    """Refresh now (after migrations, and in the background); the pooled connections of every
    engine of this process on the same file reload the statistics on their next checkout.

    It uses a connection of its own, outside the pool: the event loop's reader has one pooled
    connection, which must never wait for this."""
    database = _database_file(engine)
    if database is None:
        return
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        if sqlite3.sqlite_version_info >= (3, 46, 0):
            conn.execute("PRAGMA optimize=0x10002")
        else:
            conn.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT:d}")
            conn.execute("ANALYZE")
    finally:
        conn.close()
    _keeper(database).refreshed()
