"""``tenantry.db.prepared``: a prepared statement's row is the row ``Connection.execute`` gives,
value for value and type for type (SQLite and PostgreSQL), and its failures are SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tenantry import tokens
from tenantry.clock import SystemClock
from tenantry.db.engine import create_loop_reader, read_transaction, write_transaction
from tenantry.db.loop_reader import LoopReader
from tenantry.db.prepared import Prepared
from tenantry.members import service as members
from tenantry.members import store as member_store
from tenantry.organizations import service as organizations
from tenantry.projects import service as projects
from tenantry.sessions import authenticate as session_auth
from tenantry.sessions import keys
from tenantry.sessions import service as sessions

metadata = sa.MetaData()
things = sa.Table(
    "prepared_things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("doc", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("flag", sa.Boolean, nullable=False),
)

T0 = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)

# A repeated parameter, a datetime parameter, a fixed LIMIT, a NULL test, a subquery and labels.
STATEMENT = (
    sa.select(
        things.c.id,
        things.c.name,
        things.c.doc,
        things.c.at,
        things.c.gone_at,
        things.c.flag,
        sa.exists().where(things.c.name == sa.bindparam("name")).label("named"),
        (things.c.id + 1).label("next_id"),
    )
    .where(
        things.c.at <= sa.bindparam("now", type_=things.c.at.type),
        sa.or_(things.c.gone_at.is_(None), things.c.gone_at > sa.bindparam("now", type_=things.c.at.type)),
        things.c.name != sa.bindparam("name"),
    )
    .order_by(things.c.at.desc())
    .limit(1)
)


def assert_same_row(got: Any, expected: Any) -> None:
    """Value for value, type for type and key for key."""
    assert tuple(got) == tuple(expected)
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert got._asdict() == dict(expected._mapping)


def test_rows_match_sqlalchemy(engine: Any) -> None:
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(
            things.insert(),
            [
                {"id": 1, "name": "a", "doc": {"k": [1, 2**70, None]}, "at": T0, "gone_at": None, "flag": True},
                {"id": 2, "name": "b", "doc": [], "at": T0 + timedelta(seconds=1), "gone_at": T0, "flag": False},
                {"id": 3, "name": "c", "doc": None, "at": T0 - timedelta(days=1), "gone_at": None, "flag": False},
                {"id": 4, "name": "d", "doc": "{}", "at": T0 + timedelta(days=9), "gone_at": None, "flag": True},
            ],
        )
    prepared = Prepared(STATEMENT)
    cases = [
        {"now": T0, "name": "zzz"},  # row 1 (row 2 is gone by then)
        {"now": T0, "name": "a"},  # row 3: row 1 is excluded by name
        {"now": T0 - timedelta(days=2), "name": "a"},  # nothing
        {"now": T0 + timedelta(days=10), "name": "b"},  # row 4, a JSON string
    ]
    seen = []
    with read_transaction(engine) as conn:
        for params in cases:
            expected = conn.execute(STATEMENT, params).first()
            got = prepared.first(conn, params)
            seen.append(None if got is None else got.id)
            if expected is None:
                assert got is None
                continue
            assert_same_row(got, expected)
    assert seen == [1, 3, None, 4]


def test_json_values_are_fresh_objects(engine: Any) -> None:
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(things.insert(), {"id": 1, "name": "a", "doc": {}, "at": T0, "flag": True})
    statement = sa.select(things.c.doc).where(things.c.id == sa.bindparam("id"))
    prepared = Prepared(statement)
    with read_transaction(engine) as conn:
        first = prepared.first(conn, {"id": 1})
        first.doc["changed"] = True
        assert prepared.first(conn, {"id": 1}).doc == {}


def test_a_failure_is_raised_as_sqlalchemy_raises_it(engine: Any) -> None:
    # The table was never created: the driver refuses the statement.
    prepared = Prepared(sa.select(things.c.id).where(things.c.id == sa.bindparam("id")))
    with read_transaction(engine) as conn, pytest.raises(sa.exc.DBAPIError) as raised:
        prepared.first(conn, {"id": 1})
    if engine.dialect.name == "sqlite":
        assert isinstance(raised.value, sa.exc.OperationalError)
        assert "no such table" in str(raised.value.orig)
        # Bound values (token digests, secrets' digests) never reach a log line.
        assert "SQL parameters hidden" in str(raised.value)


def test_every_prepared_statement_reads_what_sqlalchemy_reads(engine: Any) -> None:
    """Each statement Tenantry prepares (project authentication, the session, member and key
    reads of the hottest routes), over the pooled connection of a transaction and SQLite's loop
    reader alike, and the functions that use them."""
    clock = SystemClock()
    with write_transaction(engine) as conn:
        project, secret = projects.create_project(conn, clock, name="prepared")
        org = organizations.create(conn, clock, project_id=project.project_id, fields={"organization_name": "Clinic"})
        member, _ = members.create(
            conn,
            clock,
            project_id=project.project_id,
            organization_reference=org.organization_id,
            fields={"email_address": "head@prepared.example", "trusted_metadata": {"n": 2**70}},
            actor=None,
        )
        issued = sessions.start_member_session(
            conn, clock, member=member, organization=org, factors=[], duration_minutes=60, claims={"k": 1}
        )
    session_params = {"project_id": project.project_id, "now": clock.now()}
    key_params = {"project_id": project.project_id, "key_now": datetime.now(UTC)}
    cases = [
        (projects._BY_ID, {"project_id": project.project_id}),
        (projects._BY_ID, {"project_id": "project-test-unknown"}),
        (keys._ACTIVE_KID, key_params),
        (
            member_store._BY_EMAIL,
            {"project_id": project.project_id, "organization_id": org.organization_id, "email": member.email_address},
        ),
        (
            member_store._WITH_ORGANIZATION,
            {"project_id": project.project_id, "member_id": member.member_id, "organization_id": org.organization_id},
        ),
        (sessions._LIVE_SESSION["token_digest"], {**session_params, "value": tokens.digest(issued.session_token)}),
        (sessions._LIVE_SESSION["member_session_id"], {**session_params, "value": issued.session.member_session_id}),
    ]
    for column in ("token_digest", "member_session_id"):
        value = (
            issued.session.member_session_id if column == "member_session_id" else tokens.digest(issued.session_token)
        )
        cases.append((session_auth._JOINED[column], {**session_params, **key_params, "value": value}))
    # A statement prepared later must be added here.
    ours = {id(p) for p in Prepared.everywhere if things not in p.statement.get_final_froms()}
    assert ours == {id(p) for p, _ in cases}

    reader_engine = create_loop_reader(engine.url.render_as_string(hide_password=False))
    reader = None if reader_engine is None else LoopReader(reader_engine)
    connections = [read_transaction(engine)] + ([] if reader is None else [reader.connection()])
    try:
        for opened in connections:
            with opened as conn:
                for prepared, params in cases:
                    expected = conn.execute(prepared.statement, params).first()
                    got = prepared.first(conn, params)
                    if params.get("project_id") == "project-test-unknown":
                        assert expected is None and got is None
                        continue
                    assert expected is not None
                    assert_same_row(got, expected)
                assert projects.authenticate(conn, project.project_id, secret).project_id == project.project_id
                found = session_auth.authenticate_session(
                    conn,
                    clock,
                    project_id=project.project_id,
                    session_token=issued.session_token,
                    session_jwt=None,
                    writable=False,
                )
                assert found.session.member_session_id == issued.session.member_session_id
                assert found.member.member_id == member.member_id
                assert found.member.trusted_metadata == {"n": 2**70}
    finally:
        if reader is not None:
            reader.dispose()
