"""For the planner tests, which load rows straight into the tables: a database of their own, a
project, organizations and members with every column the schema requires, and the statements a
block of code runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tenantry.db.engine import create_engine


def project_row(project_id: str, now: datetime) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "name": "planner",
        "secret_digest": "0" * 64,
        "redirect_urls": [],
        "created_at": now,
    }


def organization_row(project_id: str, organization_id: str, name: str, now: datetime) -> dict[str, Any]:
    return {
        "organization_id": organization_id,
        "project_id": project_id,
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "logo_url": "",
        "trusted_metadata": {},
        "settings": {},
        "created_at": now,
        "updated_at": now,
    }


def member_row(
    project_id: str, organization_id: str, email: str, now: datetime, *, created_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "member_id": f"member-test-{uuid.uuid4()}",
        "project_id": project_id,
        "organization_id": organization_id,
        "email_address": email,
        "email_domain": email.rpartition("@")[2],
        "email_id": f"member-email-test-{uuid.uuid4()}",
        "email_verified": True,
        "status": "active",
        "name": "",
        "roles": [],
        "trusted_metadata": {},
        "untrusted_metadata": {},
        "is_breakglass": False,
        "created_at": created_at or now,
        "updated_at": now,
    }


@contextmanager
def statements_run(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with parameters) SQLAlchemy sends to ``engine`` inside the block."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)


@contextmanager
def new_postgres_database(admin_url: str, root_conftest: Any) -> Iterator[sa.Engine]:
    """An engine on a new, empty PostgreSQL database, dropped afterwards."""
    dbname = f"t_{uuid.uuid4().hex}"
    root_conftest._pg_execute(admin_url, f'CREATE DATABASE "{dbname}"')
    engine = create_engine(root_conftest._with_database(admin_url, dbname))
    try:
        yield engine
    finally:
        engine.dispose()
        root_conftest._pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def without_autovacuum(conn: sa.Connection, *tables: str) -> None:
    """Keep autovacuum from analysing ``tables`` behind a test's back ("never analysed" would be a
    race); Tenantry's own analysis is turned off by the ``analysis_by_hand`` fixture."""
    for table in tables:
        conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")


def never_analysed(engine: sa.Engine, table: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.exec_driver_sql(
                "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL"
                " FROM pg_stat_user_tables WHERE relname = %(t)s",
                {"t": table},
            ).scalar()
        )
