"""The portal's audit log on SQLite and PostgreSQL: append-only, hash-chained, tamper-evident."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import create_engine, is_sqlite
from tenantry.db.schema import portal_audit_events
from tenantry.portal.audit import chain, log, query


def _record(engine: Engine, org: str = "organization-test-a", n: int = 0, **extra) -> None:
    fields = {
        "organization_id": org,
        "actor_member_id": f"member-test-actor-{org}",
        "actor_email": f"owner@{org}.example",
        "action": "member.invited",
        "target_member_id": f"member-test-t{n}",
        "target_email": f"staff{n}@{org}.example",
        "details": {"role": "nurse", "n": n},
        "session_id": "member-session-test-1",
    }
    fields.update(extra)
    log.record(engine, **fields)


def _bypass_append_only(engine: Engine) -> None:
    """What someone with direct database access does first: get the triggers out of the way."""
    with engine.begin() as conn:
        if is_sqlite(str(engine.url)):
            conn.exec_driver_sql("DROP TRIGGER portal_audit_no_update")
            conn.exec_driver_sql("DROP TRIGGER portal_audit_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE portal_audit_events DISABLE TRIGGER portal_audit_append_only")


def _cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.run(
        [sys.executable, "-m", "tenantry", "audit", *args, "--database-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_events_chain_and_verify(engine):
    at = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)
    for n in range(3):
        _record(engine, n=n, at=at + timedelta(seconds=n))
    result = chain.verify(engine)
    assert result.ok and result.checked == 3 and result.head_seq == 3
    events = query.search(engine, organization_id="organization-test-a")
    assert [e["seq"] for e in events] == [3, 2, 1]
    first = events[-1]
    assert first["prev_hash"] == chain.GENESIS_HASH
    assert events[-2]["prev_hash"] == first["hash"]
    assert first["at"] == "2026-11-22T09:30:15.123456Z"
    assert first["details"] == {"role": "nurse", "n": 0}
    assert first["actor_email"] == "owner@organization-test-a.example"
    assert first["session_id"] == "member-session-test-1"
    ok = _cli(engine, "verify")
    assert ok.returncode == 0, ok.stderr
    assert f"ok: 3 events, chain head 3 {result.head_hash}" in ok.stdout


def test_unknown_actions_and_orphan_events_are_refused(engine):
    with pytest.raises(ValueError):
        _record(engine, action="member.promoted_self")
    with pytest.raises(ValueError):
        _record(engine, org="")
    assert chain.verify(engine).checked == 0


def test_the_database_refuses_updates_and_deletes(engine):
    _record(engine)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE portal_audit_events SET actor_email = 'x@example.com'")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM portal_audit_events")
    assert chain.verify(engine).ok


def test_a_tampered_row_is_detected(engine):
    for n in range(5):
        _record(engine, n=n)
    _bypass_append_only(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql('UPDATE portal_audit_events SET details = \'{"n":2,"role":"owner"}\' WHERE seq = 3')
    result = chain.verify(engine)
    assert not result.ok and result.broken_seq == 3 and result.checked == 2
    assert result.reason == "the row's contents do not match its hash"
    broken = _cli(engine, "verify")
    assert broken.returncode == 1
    assert "BROKEN at row 3" in broken.stdout


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link(engine):
    for n in range(4):
        _record(engine, n=n)
    _bypass_append_only(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.select(portal_audit_events).where(portal_audit_events.c.seq == 2)).one()._asdict()
        row["actor_email"] = "someone-else@example.com"
        forged = chain.event_hash(row)
        conn.execute(
            sa.text("UPDATE portal_audit_events SET actor_email = :e, hash = :h WHERE seq = 2"),
            {"e": row["actor_email"], "h": forged},
        )
    result = chain.verify(engine)
    assert not result.ok and result.broken_seq == 3
    assert result.reason == "prev_hash does not match the previous row's hash"


def test_a_deleted_row_is_detected(engine):
    for n in range(5):
        _record(engine, n=n)
    _bypass_append_only(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM portal_audit_events WHERE seq = 2")
    result = chain.verify(engine)
    assert not result.ok and result.broken_seq == 2
    assert result.reason == "row 2 is missing (the next row is 3)"
    assert "BROKEN at row 2" in _cli(engine, "verify").stdout


def test_rows_cut_off_the_end_are_detected(engine):
    for n in range(3):
        _record(engine, n=n)
    _bypass_append_only(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM portal_audit_events WHERE seq = 3")
    result = chain.verify(engine)
    assert not result.ok and result.broken_seq == 3
    assert "the chain head records 3 events but the log ends at 2" == result.reason


def test_concurrent_writers_never_fork_the_chain(engine):
    # Each writer has its own engine (its own connections), as separate worker processes or
    # machines would: only the database's lock can keep them from reading the same chain head.
    url = engine.url.render_as_string(hide_password=False)
    writers, each = 6, 15
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(w: int) -> None:
        own = create_engine(url)
        try:
            barrier.wait()
            for n in range(each):
                _record(own, org=f"organization-test-w{w % 2}", n=n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    result = chain.verify(engine)
    assert result.ok, result
    assert result.checked == writers * each
    with engine.connect() as conn:
        prevs = conn.exec_driver_sql("SELECT COUNT(DISTINCT prev_hash) FROM portal_audit_events").scalar()
    assert prevs == writers * each  # no two events link to the same predecessor


def test_search_is_scoped_and_filtered(engine):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _record(engine, org="organization-test-a", n=1, at=t0)
    _record(engine, org="organization-test-a", n=2, action="member.removed", at=t0 + timedelta(days=2))
    _record(engine, org="organization-test-b", n=3, at=t0)
    a = query.search(engine, organization_id="organization-test-a")
    assert {e["organization_id"] for e in a} == {"organization-test-a"} and len(a) == 2
    only = query.Filters
    assert [
        e["action"]
        for e in query.search(engine, organization_id="organization-test-a", filters=only(action="member.removed"))
    ] == ["member.removed"]
    by_target = query.search(
        engine, organization_id="organization-test-a", filters=only(target="STAFF1@organization-test-a.example")
    )
    assert [e["target_member_id"] for e in by_target] == ["member-test-t1"]
    # Another clinic's target is not found from this clinic, even by exact id.
    assert query.search(engine, organization_id="organization-test-a", filters=only(target="member-test-t3")) == []
    by_actor = query.search(
        engine, organization_id="organization-test-a", filters=only(actor="member-test-actor-organization-test-a")
    )
    assert len(by_actor) == 2
    dated = query.search(
        engine,
        organization_id="organization-test-a",
        filters=only(since=t0 + timedelta(days=1), until=t0 + timedelta(days=3)),
    )
    assert [e["action"] for e in dated] == ["member.removed"]


def test_exports(engine):
    _record(engine, org="organization-test-a", n=1, target_email="=HYPERLINK(1)@x.example")
    _record(engine, org="organization-test-b", n=2)
    out = _cli(engine, "export", "--format", "json")
    assert out.returncode == 0, out.stderr
    events = json.loads(out.stdout)
    assert [e["seq"] for e in events] == [1, 2]
    assert all(
        chain.event_hash({**e, "details": chain.canonical_details(e["details"]), "at": datetime.fromisoformat(e["at"])})
        == e["hash"]
        for e in events
    )
    scoped = json.loads(_cli(engine, "export", "--format", "json", "--organization-id", "organization-test-b").stdout)
    assert [e["organization_id"] for e in scoped] == ["organization-test-b"]
    csv_out = _cli(engine, "export", "--format", "csv")
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("seq,at,organization_id,action")
    assert len(lines) == 3
    assert "'=HYPERLINK(1)@x.example" in lines[1]
