"""WAL checkpoints of a serving worker run on a thread of their own (``tenantry.db.checkpointer``).

Whether a row has reached the database file itself (been checkpointed) is read with SQLite's
``immutable=1``, which opens the file without its write-ahead log."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tenantry.app import create_app
from tenantry.clock import SystemClock
from tenantry.config import Settings
from tenantry.db.checkpointer import BACKSTOP_PAGES, WalCheckpointer
from tenantry.db.engine import create_engine, write_transaction
from tenantry.db.migrate import upgrade
from tenantry.projects.service import create_project


def _in_database_file(path: Path, name: str) -> bool:
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone() is not None
    except sqlite3.OperationalError:  # not even the table has been checkpointed yet
        return False
    finally:
        conn.close()


def _add_project(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        create_project(conn, SystemClock(), name=name)


def _checkpoint_now(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        conn.close()


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _wait_until(condition: object, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_served_worker_checkpoints_on_its_own_thread_not_in_commits(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    app = create_app(Settings(database_url=f"sqlite:///{path}", dev_mailbox_dir=tmp_path / "mailbox"))
    engine = app.state.runtime.engine
    upgrade(engine)
    _checkpoint_now(path)  # the tables themselves into the file
    checkpointer = app.state.checkpointer
    assert isinstance(checkpointer, WalCheckpointer)
    assert _autocheckpoint(engine) == BACKSTOP_PAGES

    # Not serving: a commit leaves its pages in the log (a commit does not checkpoint any more).
    _add_project(engine, "Before")
    time.sleep(3 * checkpointer.interval)
    assert not _in_database_file(path, "Before")

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert checkpointer.running
        _add_project(engine, "While serving")
        assert _wait_until(lambda: _in_database_file(path, "While serving"))
        assert _in_database_file(path, "Before")
        # The file is written while the pass runs; what the pass answered comes a moment later.
        assert _wait_until(lambda: checkpointer.last is not None and checkpointer.last.log_frames > 0)
    assert not checkpointer.running  # stopped with the worker


def test_commands_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    assert _autocheckpoint(engine) == 1000  # SQLite's default
    engine.dispose()


def test_a_failing_pass_is_reported_once_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A directory is no database: every pass fails to open it, until a database is there.
    missing = tmp_path / "not-yet"
    missing.mkdir()
    checkpointer = WalCheckpointer(str(missing), interval=0.01)
    with caplog.at_level(logging.INFO, logger="tenantry.db.checkpointer"):
        checkpointer.start()
        try:
            time.sleep(0.3)
            assert checkpointer.running
            missing.rmdir()
            engine = create_engine(f"sqlite:///{missing}")
            upgrade(engine)
            _add_project(engine, "Later")
            assert _wait_until(lambda: _in_database_file(missing, "Later"))
        finally:
            checkpointer.stop()
            engine.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert len([m for m in said if "unavailable, retrying quietly" in m]) == 1
    assert any("available again" in m for m in said)


def test_postgresql_has_no_checkpointer(postgres_admin_url: str) -> None:
    app = create_app(Settings(database_url=postgres_admin_url))
    assert app.state.checkpointer is None
    assert WalCheckpointer.for_url("sqlite:///:memory:") is None
