"""How many threads a worker runs database work on (``TENANTRY_DB_THREADS``)."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
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


def test_a_sqlite_worker_runs_database_work_on_a_few_threads_unless_told(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/t.db"
    assert _serving_threads(Settings(database_url=database_url)) == SQLITE_THREADS == 4
    assert _serving_threads(Settings(database_url=database_url, db_threads=9)) == 9


def test_postgresql_keeps_anyios_default_unless_told() -> None:
    assert database_threads("postgresql://u@localhost/db", None) is None
    assert database_threads("postgresql+psycopg://u@localhost/db", 12) == 12
    assert database_threads("sqlite:///:memory:", None) == SQLITE_THREADS
