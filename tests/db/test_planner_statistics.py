"""Member search reads one organization's rows through an organization index, on a database that
has grown since its last statistics, and on one that never had any.

The bug this guards against: member search scopes by ``project_id = ? AND organization_id IN (…)``.
Without ``sqlite_stat1`` rows SQLite rates ``ix_members_project_email (project_id=?)`` and the
organization indexes alike (one equality column each) and takes whichever index was created last;
migrations create them in an order that varies from one installation to the next (batch ALTERs
rebuild the table). On the 1M-member benchmark database the count of one organization's members
walked the whole project: 2.7 s instead of 0.1 ms.

The tests recreate ``ix_members_project_email`` last (that unlucky installation), load tens of
thousands of members with SQLAlchemy Core, capture the statements Tenantry's own member search
executes, and assert on their plans (``EXPLAIN QUERY PLAN`` / ``EXPLAIN (FORMAT JSON)``), never on
timings.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

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
from tenantry.members import search as member_search
from tenantry.members import store as member_store
from tenantry.search import Query

N_ORGS = 2_000
PER_ORG = 10  # 20,000 members: enough for a full scan of the project to be the wrong plan
ORG_INDEXES = {"ix_members_project_org_member", "ix_members_org_member", "uq_members_org_external_id"}


def _unlucky_index_order(conn: sa.Connection) -> None:
    """Recreate ix_members_project_email so that it is the last index of ``members``."""
    conn.execute(sa.text("DROP INDEX ix_members_project_email"))
    conn.execute(sa.text("CREATE INDEX ix_members_project_email ON members (project_id, email_address)"))


def _seed(engine: sa.Engine, project_id: str) -> list[str]:
    """A project with N_ORGS organizations of PER_ORG members each; returns the organization ids."""
    now = datetime.now(UTC)
    org_ids = [f"organization-test-{uuid.uuid4()}" for _ in range(N_ORGS)]
    with engine.begin() as conn:
        conn.execute(projects.insert(), [project_row(project_id, now)])
        conn.execute(
            organizations.insert(),
            [organization_row(project_id, org_id, f"Org {i}", now) for i, org_id in enumerate(org_ids)],
        )
        conn.execute(
            members.insert(),
            [
                member_row(project_id, org_id, f"m{j}@org-{i}.example.com", now)
                for i, org_id in enumerate(org_ids)
                for j in range(PER_ORG)
            ],
        )
    return org_ids


def _served_statements(engine: sa.Engine, project_id: str, organization_ids: list[str]) -> list[tuple[str, Any]]:
    """The SELECTs member search runs for ``organization_ids`` (page and total), with parameters."""
    where = member_search.condition(project_id, organization_ids, Query("AND", []))
    with statements_run(engine) as seen, read_transaction(engine) as conn:
        assert len(member_store.search_page(conn, where, after=None, limit=101)) == PER_ORG * len(organization_ids)
        assert member_store.count(conn, where) == PER_ORG * len(organization_ids)
    selects = [(s, p) for s, p in seen if "FROM members" in s]
    assert len(selects) == 2, seen
    return selects


def _sqlite_plan(conn: sa.Connection, statement: str, parameters: Any) -> str:
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return " | ".join(str(r[-1]) for r in rows)


def _pg_indexes(conn: sa.Connection, statement: str, parameters: Any) -> set[str]:
    raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.add(node["Index Name"])
        if node.get("Node Type") == "Seq Scan":
            found.add("<seq scan>")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _assert_sqlite_org_index(engine: sa.Engine, project_id: str, org_ids: list[str]) -> None:
    for organization_ids in ([org_ids[7]], org_ids[7:10]):
        statements = _served_statements(engine, project_id, organization_ids)
        with engine.connect() as conn:
            for statement, parameters in statements:
                plan = _sqlite_plan(conn, statement, parameters)
                assert "ix_members_project_email" not in plan, plan
                assert any(name in plan for name in ORG_INDEXES), plan


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Iterator[sa.Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'planner.db'}")
    yield engine
    engine.dispose()


def test_sqlite_member_search_takes_an_organization_index_without_any_statistics(sqlite_engine: sa.Engine) -> None:
    """A plan that is right only with statistics is fragile: here there are none at all."""
    upgrade(sqlite_engine)
    with sqlite_engine.begin() as conn:
        _unlucky_index_order(conn)
    project_id = f"project-test-{uuid.uuid4()}"
    org_ids = _seed(sqlite_engine, project_id)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
    sqlite_engine.dispose()  # connections load statistics when they open
    _assert_sqlite_org_index(sqlite_engine, project_id, org_ids)


def test_sqlite_start_up_analyses_a_database_loaded_behind_tenantrys_back(tmp_path: Any) -> None:
    """Rows bulk loaded into a migrated database (an import, a restore): the next start-up's
    migrate step (the one `tenantry serve` runs) leaves statistics that describe them."""
    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        _unlucky_index_order(conn)
    project_id = f"project-test-{uuid.uuid4()}"
    org_ids = _seed(engine, project_id)
    engine.dispose()

    restarted = create_engine(url)
    try:
        upgrade(restarted)
        with restarted.connect() as conn:
            stat = conn.exec_driver_sql(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'members' AND idx = 'ix_members_project_email'"
            ).scalar()
        assert stat is not None, "start-up left members without statistics"
        assert int(stat.split()[0]) >= N_ORGS * PER_ORG // 2, stat
        _assert_sqlite_org_index(restarted, project_id, org_ids)
    finally:
        restarted.dispose()


def test_sqlite_pooled_connections_take_up_statistics_refreshed_while_they_were_open(sqlite_engine: sa.Engine) -> None:
    """A server keeps its connections for hours, and SQLite loads statistics when a connection
    opens. After Tenantry's refresh, a connection already in the pool plans with the new figures.
    The index that makes member search right without statistics is swapped back for the one before
    migration 0011, so that statistics alone decide here."""
    upgrade(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_members_project_org_member")
        conn.exec_driver_sql("CREATE INDEX ix_members_org_member ON members (organization_id, member_id)")
        _unlucky_index_order(conn)
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
    sqlite_engine.dispose()
    project_id = f"project-test-{uuid.uuid4()}"
    org_ids = _seed(sqlite_engine, project_id)
    statements = _served_statements(sqlite_engine, project_id, [org_ids[7]])
    with sqlite_engine.connect() as conn:
        before = [_sqlite_plan(conn, statement, parameters) for statement, parameters in statements]
    # Without statistics, the total walks the project: what the 1M-member benchmark ran into.
    assert any("ix_members_project_email" in plan for plan in before), before

    statistics.refresh_now(sqlite_engine)
    with sqlite_engine.connect() as conn:
        after = [_sqlite_plan(conn, statement, parameters) for statement, parameters in statements]
    assert sqlite_engine.pool.checkedin() == 1, "the plans must come from the one pooled connection"
    for plan in after:
        assert "ix_members_project_email" not in plan and any(name in plan for name in ORG_INDEXES), after


@pytest.fixture
def postgres_engine(postgres_admin_url: str, root_conftest: Any) -> Iterator[sa.Engine]:
    with new_postgres_database(postgres_admin_url, root_conftest) as engine:
        yield engine


@pytest.mark.parametrize("analysed", [False, True], ids=["never-analysed", "analysed"])
def test_postgresql_member_search_takes_an_organization_index(
    postgres_engine: sa.Engine, analysed: bool, analysis_by_hand: None
) -> None:
    """Until a table is first analysed the planner works from defaults (autovacuum takes up to a
    minute; Tenantry's own analysis a few seconds, and is off here). Both must choose an
    organization index."""
    upgrade(postgres_engine)
    with postgres_engine.begin() as conn:
        without_autovacuum(conn, "members")
        _unlucky_index_order(conn)
    project_id = f"project-test-{uuid.uuid4()}"
    org_ids = _seed(postgres_engine, project_id)
    if analysed:
        with postgres_engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE members")
            conn.commit()
    assert never_analysed(postgres_engine, "members") is (not analysed)
    for organization_ids in ([org_ids[7]], org_ids[7:10]):
        statements = _served_statements(postgres_engine, project_id, organization_ids)
        with postgres_engine.connect() as conn:
            for statement, parameters in statements:
                used = _pg_indexes(conn, statement, parameters)
                assert used and used <= ORG_INDEXES | {"members_organization_id_email_address_key"}, (used, statement)


def test_migrations_leave_members_with_the_indexes_schema_py_declares(sqlite_engine: sa.Engine) -> None:
    upgrade(sqlite_engine)
    with sqlite_engine.connect() as conn:
        migrated = {i["name"] for i in sa.inspect(conn).get_indexes("members")}
    declared = {i.name for i in members.indexes}
    assert declared <= migrated and "ix_members_org_member" not in migrated, (declared, migrated)


def test_sqlite_statistics_are_refreshed_periodically_in_the_background(
    sqlite_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No restart needed: members loaded while the server runs are analysed within a period."""
    upgrade(sqlite_engine)
    project_id = f"project-test-{uuid.uuid4()}"
    _seed(sqlite_engine, project_id)
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'members'").scalar() == 0
    monkeypatch.setattr(statistics, "REFRESH_SECONDS", 0.0)
    deadline = time.monotonic() + 10
    found = 0
    while not found and time.monotonic() < deadline:
        with sqlite_engine.connect() as conn:  # a checkout when a refresh is due starts one
            found = conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'members'").scalar()
        time.sleep(0.05)
    assert found, "no background refresh analysed members"
