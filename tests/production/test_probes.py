"""/healthz says the process answers; /readyz says the database answers at the schema this code
expects, and refuses in Stytch's error format otherwise."""

from __future__ import annotations

import sqlalchemy as sa

from tenantry.db.engine import normalise_url


def test_healthz_and_readyz_answer_with_the_request_id(server):
    health = server.client().get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.headers["x-request-id"] == health.json()["request_id"]

    ready = server.client().get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["migration"], body
    assert ready.headers["x-request-id"] == body["request_id"]


def test_readyz_refuses_a_database_at_another_migration(server):
    engine = sa.create_engine(normalise_url(server.database_url))
    try:
        with engine.begin() as conn:
            (head,) = conn.exec_driver_sql("SELECT version_num FROM alembic_version").one()
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from_a_newer_release'")
        refused = server.client().get("/readyz")
        assert refused.status_code == 503, refused.text
        body = refused.json()
        assert body["status_code"] == 503
        assert body["error_type"] == "server_unavailable"
        assert body["request_id"] == refused.headers["x-request-id"]
        assert "from_a_newer_release" in body["error_message"] and head in body["error_message"]
        assert body["error_url"].endswith("#server_unavailable")
        # Liveness does not depend on the database: a restart would not help.
        assert server.client().get("/healthz").status_code == 200
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head}'")
        engine.dispose()
    assert server.client().get("/readyz").status_code == 200
