"""A PostgreSQL statement that runs too long (a hung server, a lock held elsewhere) is cancelled
after ``TENANTRY_DB_STATEMENT_TIMEOUT_MS`` and the request answers Stytch's 503, instead of
holding the request and its pooled connection forever; once the lock is gone, service is normal.

The lock is real: another connection holds ``ACCESS EXCLUSIVE`` on ``organizations`` (what a
long schema change or a stuck maintenance job would hold), so every statement that touches it
waits, which counts against the statement timeout (SQLSTATE 57014, query_canceled).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
from prod_flow import sign_up

TIMEOUT_MS = 500
# The timeout plus the request's own work, with room for a loaded 2-core machine; without the
# timeout the request would wait for as long as the lock is held (here: until the test gives up).
BOUND_SECONDS = 3.0


def test_a_statement_blocked_by_a_lock_answers_503_within_the_statement_timeout(
    postgres_admin_url: str, root_conftest: Any, tmp_path: Any
) -> None:
    dbname = f"t_{uuid.uuid4().hex}"
    root_conftest._pg_execute(postgres_admin_url, f'CREATE DATABASE "{dbname}"')
    database_url = root_conftest._with_database(postgres_admin_url, dbname)
    server = root_conftest.TenantryServer(
        database_url=database_url,
        workdir=tmp_path / "server",
        env={"TENANTRY_DB_STATEMENT_TIMEOUT_MS": str(TIMEOUT_MS)},
    )
    server.start()
    try:
        api = server.client(timeout=30)
        flow = sign_up(server, api)
        path = f"/v1/b2b/organizations/{flow.organization_id}"
        assert api.get(path).status_code == 200

        with psycopg.connect(database_url, connect_timeout=10) as locker:
            locker.execute("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
            for _ in range(3):
                started = time.monotonic()
                resp = api.get(path)
                took = time.monotonic() - started
                assert resp.status_code == 503, resp.text
                error = resp.json()
                assert error["status_code"] == 503 and error["error_type"] == "server_unavailable"
                assert error["request_id"] == resp.headers["x-request-id"]
                assert TIMEOUT_MS / 1000 * 0.9 <= took < BOUND_SECONDS, f"the 503 took {took:.2f} s"
            locker.rollback()  # releases the lock

        again = api.get(path)
        assert again.status_code == 200, again.text
        assert again.json()["organization"]["organization_id"] == flow.organization_id
        sign_up(server, api)  # writes work too: the pool holds no broken connection
        api.close()
    finally:
        server.stop()
    logs = server.log_tail(20000)
    assert "database unavailable" in logs, logs[-2000:]
