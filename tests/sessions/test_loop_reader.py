"""On a SQLite file, ``sessions.authenticate`` reads on the event loop itself
(``tenantry.db.engine.create_loop_reader``, ``tenantry.api.endpoint.on_loop``): what it answers
there, and what it hands to the thread pool instead: a write is due, or SQLite refused the read
(a WAL reader cannot be made to wait from outside SQLite, so a real error of the same class
stands in for SQLITE_BUSY)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine
from starlette.requests import Request
from test_sessions_api import create_org

from tenantry import errors
from tenantry.api.endpoint import on_loop
from tenantry.db.engine import create_loop_reader
from tenantry.db.read_mostly import WriteNeeded


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "loop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT NOT NULL)")
    engine = create_loop_reader(f"sqlite:///{path}")
    assert engine is not None
    yield engine
    engine.dispose()


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
