"""How many threads a worker runs database work on (``TENANTRY_DB_THREADS``), and how long one
may hold the GIL while another waits (``TENANTRY_GIL_SWITCH_INTERVAL_MS``)."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio.to_thread
import pytest
from starlette.testclient import TestClient

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.engine import SQLITE_THREADS, database_threads


async def _tokens() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens


def _serving_threads(settings: Settings) -> float:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        return client.portal.call(_tokens)  # type: ignore[union-attr]


def test_a_sqlite_worker_runs_database_work_on_one_thread_unless_told(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/t.db"
    assert _serving_threads(Settings(database_url=database_url)) == SQLITE_THREADS == 1
    assert _serving_threads(Settings(database_url=database_url, db_threads=9)) == 9


def test_postgresql_runs_as_many_threads_as_its_pool_has_connections(postgres_admin_url: str) -> None:
    database_url = postgres_admin_url
    assert _serving_threads(Settings(database_url=database_url)) == 20  # pool 10 + overflow 10
    assert _serving_threads(Settings(database_url=database_url, db_pool_size=3, db_max_overflow=2)) == 5
    assert _serving_threads(Settings(database_url=database_url, db_threads=12)) == 12
    assert database_threads("sqlite:///:memory:", None, 20) == SQLITE_THREADS


def test_a_worker_sets_the_gil_switch_interval(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/t.db"
    before = sys.getswitchinterval()
    try:
        with TestClient(create_app(Settings(database_url=database_url))) as client:
            assert client.get("/healthz").status_code == 200
            assert sys.getswitchinterval() == pytest.approx(0.001)
        with TestClient(create_app(Settings(database_url=database_url, gil_switch_interval_ms=5))) as client:
            assert client.get("/healthz").status_code == 200
            assert sys.getswitchinterval() == pytest.approx(0.005)
    finally:
        sys.setswitchinterval(before)
