"""PostgreSQL tables are analysed by Tenantry as they grow, not up to a minute later by
autovacuum, and the plans made without statistics (or with a small table's) are replaced.

The bug this guards against: psycopg prepares a statement it runs often, and PostgreSQL keeps a
prepared statement's generic plan until its table is analysed; autovacuum analyses on rounds a
minute apart. Planned with no statistics, an email's memberships (``project_id = ? AND
email_address = ?``) were read through ``ix_members_project_org_member``, which walks all of the
project's members: the onboarding benchmark's PostgreSQL runs, which end within that minute, spent
4–7 ms per discovery on it.

The tests assert on plans (the generic plan PostgreSQL keeps for Tenantry's own statement) and on
``pg_stat_user_tables``, never on timings.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from planner_support import (
    member_row,
    never_analysed,
    new_postgres_database,
    organization_row,
    project_row,
    statements_run,
    without_autovacuum,
)

from tenantry.db import statistics
from tenantry.db.engine import create_engine, read_transaction
from tenantry.db.migrate import upgrade
from tenantry.db.schema import members, organizations, projects
from tenantry.members import store as member_store

EMAIL_INDEXES = {"ix_members_project_email", "uq_members_organization_id_email_address"}
ORGANIZATIONS = 4


def _seed(engine: sa.Engine, project_id: str, emails_per_org: int, *, first: int = 0) -> list[str]:
    """Organizations whose members share the addresses m0@…, m1@… (so an email has memberships
    in several organizations); returns the organization ids."""
    now = datetime.now(UTC)
    org_ids = [f"organization-test-{project_id[-8:]}-{first + i}" for i in range(ORGANIZATIONS)]
    with engine.begin() as conn:
        if first == 0:
            conn.execute(projects.insert(), [project_row(project_id, now)])
        conn.execute(organizations.insert(), [organization_row(project_id, org_id, org_id, now) for org_id in org_ids])
        conn.execute(
            members.insert(),
            [
                # Memberships made in the same second, as the tie-breaker by organization expects.
                member_row(project_id, org_id, f"m{j}@example.com", now, created_at=now - timedelta(seconds=i % 2))
                for i, org_id in enumerate(org_ids)
                for j in range(emails_per_org)
            ],
        )
    return org_ids


def _lookups(engine: sa.Engine, project_id: str, org_ids: list[str]) -> list[tuple[str, Any]]:
    """The member SELECTs of ``memberships_of_email`` and ``get_by_email``, with parameters."""
    with statements_run(engine) as run, read_transaction(engine) as conn:
        found = member_store.memberships_of_email(conn, project_id, "m1@example.com")
        assert set(org_ids) <= {m.organization_id for m in found}
        assert found == sorted(found, key=lambda m: (m.created_at, m.organization_id))
        member = member_store.get_by_email(conn, project_id, org_ids[2], "m1@example.com")
        assert member is not None and member.organization_id == org_ids[2]
    seen = [(statement, parameters) for statement, parameters in run if "FROM members" in statement]
    assert len(seen) == 2, seen
    return seen


def _pg_generic_plan(engine: sa.Engine, statement: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The plan PostgreSQL keeps for ``statement`` once prepared (``plan_cache_mode`` makes it
    the generic plan from the first execution on, as after psycopg's fifth)."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    positional = re.sub(r"%\((\w+)\)s", placeholder, statement)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)
        values = ", ".join(psycopg.sql.Literal(parameters[n]).as_string(raw) for n in names)
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE lookup AS {positional}")
        try:
            explained = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE lookup({values})").scalar()
        finally:
            conn.exec_driver_sql("DEALLOCATE lookup")
            conn.exec_driver_sql("RESET plan_cache_mode")
        conn.rollback()
    plan = explained if isinstance(explained, list) else json.loads(explained)
    return plan[0]["Plan"]


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if "Scan" in node["Node Type"] else []
    for child in node.get("Plans", []):
        found += _scans(child)
    return found


def _assert_email_index(plan: dict[str, Any], statement: str) -> None:
    (scan,) = _scans(plan)
    assert scan.get("Index Name") in EMAIL_INDEXES, (scan, statement)
    # The address is a condition of the index, not a filter over rows the index found.
    assert "email_address" in scan.get("Index Cond", ""), (scan, statement)
    assert "email_address" not in scan.get("Filter", ""), (scan, statement)


@pytest.fixture
def postgres_engine(postgres_admin_url: str, root_conftest: Any) -> Iterator[sa.Engine]:
    with new_postgres_database(postgres_admin_url, root_conftest) as engine:
        upgrade(engine)
        yield engine


def _changes_counted(engine: sa.Engine, table: str, changes: int) -> None:
    """Wait until PostgreSQL's statistics count ``changes`` on ``table`` since its last analysis:
    a backend reports its changes at most once a second, or when it closes, which the pool's
    ``dispose`` makes happen."""
    engine.dispose()
    deadline = time.monotonic() + 15
    counted = 0
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            counted = conn.exec_driver_sql(
                "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %(t)s", {"t": table}
            ).scalar()
        if counted >= changes:
            return
        time.sleep(0.1)
    raise AssertionError(f"{table}: {counted} changes counted, expected {changes}")


def _without_autovacuum(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        without_autovacuum(conn, "members", "organizations", "projects")


def test_tables_analysed_as_they_grow_and_their_plans_take_the_email_index(
    postgres_engine: sa.Engine, analysis_by_hand: None
) -> None:
    engine = postgres_engine
    _without_autovacuum(engine)
    project_id = f"project-test-{uuid.uuid4()}"
    org_ids = _seed(engine, project_id, emails_per_org=3)  # 12 members: a plan made now is the bad one
    statement, parameters = _lookups(engine, project_id, org_ids)[0]
    before = _scans(_pg_generic_plan(engine, statement, parameters))
    _seed(engine, project_id, emails_per_org=500, first=ORGANIZATIONS)  # 2,000 more
    assert never_analysed(engine, "members")
    _changes_counted(engine, "members", 2_000)

    analysed = statistics.analyse_changed(engine)

    assert "members" in analysed and not never_analysed(engine, "members")
    # Fewer changes (8 organizations) than autovacuum waits for: left to autovacuum.
    assert "organizations" not in analysed and never_analysed(engine, "organizations")
    for statement, parameters in _lookups(engine, project_id, org_ids):
        _assert_email_index(_pg_generic_plan(engine, statement, parameters), statement)
    assert "members" not in statistics.analyse_changed(engine)  # nothing changed since
    print("generic plan before the analysis:", [(s["Node Type"], s.get("Index Name")) for s in before])


def test_a_table_analysed_small_is_analysed_again_after_a_tenth_more_changes(
    postgres_engine: sa.Engine, analysis_by_hand: None
) -> None:
    """Statistics of a small table make plans that are wrong for a large one (a sequential scan):
    they must not wait a minute for autovacuum either."""
    engine = postgres_engine
    _without_autovacuum(engine)
    project_id = f"project-test-{uuid.uuid4()}"
    _seed(engine, project_id, emails_per_org=100)  # 400 members
    _changes_counted(engine, "members", 400)
    assert "members" in statistics.analyse_changed(engine)
    _seed(engine, project_id, emails_per_org=20, first=ORGANIZATIONS)  # 80 more: under 50 + 10 % of 400
    _changes_counted(engine, "members", 80)
    assert "members" not in statistics.analyse_changed(engine)
    _seed(engine, project_id, emails_per_org=10, first=2 * ORGANIZATIONS)  # 120 in all: over 90
    _changes_counted(engine, "members", 120)
    assert "members" in statistics.analyse_changed(engine)


def test_a_serving_engine_analyses_new_tables_by_itself(
    postgres_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statistics, "ANALYSIS_CHECK_SECONDS", 0.2)
    _without_autovacuum(postgres_engine)
    engine = create_engine(postgres_engine.url.render_as_string(hide_password=False))
    try:
        project_id = f"project-test-{uuid.uuid4()}"
        _seed(engine, project_id, emails_per_org=20)
        deadline = time.monotonic() + 15
        while never_analysed(engine, "members") and time.monotonic() < deadline:
            with read_transaction(engine) as conn:  # what requests do: check connections out
                conn.execute(sa.text("SELECT 1"))
            time.sleep(0.1)
        assert not never_analysed(engine, "members"), "the engine did not analyse members by itself"
    finally:
        engine.dispose()
