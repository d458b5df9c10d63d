"""On a SQLite file, ``sessions.authenticate`` reads on the event loop itself
(``tenantry.db.engine.create_loop_reader``, ``tenantry.db.loop_reader``,
``tenantry.api.endpoint.on_loop``): what it answers
there, and what it hands to the thread pool instead: a write is due, or SQLite refused the read
(a WAL reader cannot be made to wait from outside SQLite, so a real error of the same class
stands in for SQLITE_BUSY)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from test_sessions_api import create_org

from tenantry import errors
from tenantry.api.endpoint import on_loop
from tenantry.db.engine import create_loop_reader
from tenantry.db.loop_reader import LoopReader
from tenantry.db.read_mostly import WriteNeeded


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[LoopReader]:
    path = tmp_path / "loop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT NOT NULL)")
    engine = create_loop_reader(f"sqlite:///{path}")
    assert engine is not None
    loop_reader = LoopReader(engine)
    yield loop_reader
    loop_reader.dispose()


def driver_connection(conn: Connection) -> Any:
    return conn.connection.driver_connection


def request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/v1/b2b/sessions/authenticate", "headers": []})


def test_postgresql_and_memory_databases_get_no_loop_reader():
    assert create_loop_reader("postgresql://u@localhost/db") is None
    assert create_loop_reader("sqlite://") is None
    assert create_loop_reader("sqlite:///:memory:") is None


def test_a_read_answers_on_the_loop_in_autocommit(reader):
    def work(conn: Connection) -> Any:
        # No transaction is open: the reader holds no snapshot between requests.
        assert conn.exec_driver_sql("SELECT count(*) FROM notes").scalar() == 0
        return conn.connection.driver_connection.in_transaction  # type: ignore[union-attr]

    assert on_loop(request(), work, reader) is False


def test_the_connection_is_kept_between_requests_and_sees_each_commit(reader, tmp_path):
    seen = []

    def work(conn: Connection) -> Any:
        seen.append(driver_connection(conn))
        return conn.exec_driver_sql("SELECT count(*) FROM notes").scalar()

    assert on_loop(request(), work, reader) == 0
    with sqlite3.connect(tmp_path / "loop.db") as other:  # another process's write, committed
        other.execute("INSERT INTO notes VALUES ('x')")
    assert on_loop(request(), work, reader) == 1
    assert seen[0] is seen[1]


def test_a_connection_sqlite_failed_on_is_replaced_and_a_refusal_keeps_it(reader):
    seen = []

    def note(conn: Connection) -> Any:
        seen.append(driver_connection(conn))

    def refuse(conn: Connection) -> Any:
        note(conn)
        raise errors.SessionNotFound()

    def fail(conn: Connection) -> Any:
        note(conn)
        return conn.exec_driver_sql("SELECT * FROM no_such_table").all()

    with pytest.raises(errors.SessionNotFound):
        on_loop(request(), refuse, reader)
    assert on_loop(request(), fail, reader) is None
    on_loop(request(), note, reader)
    assert seen[0] is seen[1]  # an answered refusal is no reason to reconnect
    assert seen[2] is not seen[1]  # not trusted again after SQLite failed on it


def test_the_kept_connection_is_checked_out_again_once_old(reader):
    # A checkout is where pooled connections reload refreshed planner statistics
    # (tenantry.db.statistics); the kept one must pass there too.
    checkouts = []
    sa.event.listen(reader.engine, "checkout", lambda *_: checkouts.append(1))
    on_loop(request(), lambda conn: None, reader)
    on_loop(request(), lambda conn: None, reader)
    assert len(checkouts) == 1
    reader.recycle_seconds = 0
    on_loop(request(), lambda conn: None, reader)
    assert len(checkouts) == 2


def test_a_handler_that_must_write_goes_to_the_pool(reader):
    def work(_conn: Connection) -> Any:
        raise WriteNeeded()

    assert on_loop(request(), work, reader) is None


def test_a_database_error_goes_to_the_pool_which_retries_and_reports_it(reader):
    def work(conn: Connection) -> Any:
        return conn.exec_driver_sql("SELECT * FROM no_such_table").all()

    assert on_loop(request(), work, reader) is None


def test_refusals_and_bugs_are_answered_not_retried(reader):
    def refuse(_conn: Connection) -> Any:
        raise errors.SessionNotFound()

    def bug(_conn: Connection) -> Any:
        raise KeyError("oops")

    with pytest.raises(errors.SessionNotFound):
        on_loop(request(), refuse, reader)
    with pytest.raises(errors.TenantryError) as raised:
        on_loop(request(), bug, reader)
    assert raised.value.status_code == 500


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_revocation_is_seen_by_the_loop_reader_at_once(server, stytch_client):
    # Autocommit reads: a session revoked by one request is refused by the next.
    created = create_org(server, stytch_client, "head@stale.example", "stale")
    with server.client() as client:
        first = client.post("/v1/b2b/sessions/authenticate", json={"session_token": created.session_token})
        assert first.status_code == 200
        revoked = client.post("/v1/b2b/sessions/revoke", json={"session_token": created.session_token})
        assert revoked.status_code == 200, revoked.text
        again = client.post("/v1/b2b/sessions/authenticate", json={"session_token": created.session_token})
    assert again.status_code == 404
    assert again.json()["error_type"] == "session_not_found"
