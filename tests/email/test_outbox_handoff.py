"""Mail a request leases as it queues it, for the delivery loop of its own process.

The loop is handed the mail in memory and sends it without a claim of its own. What must hold as
for claimed mail: the lease covers the send with half a lease to spare (a handed mail whose send
could not start within the batch window of its lease is given back, untried); nothing is handed
for a transaction that rolled back; mail handed to a loop that stops is freed for any worker.
Real databases (SQLite, PostgreSQL), the outbox and loop as the server runs them; only the relay
is a stand-in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from mailtest import RecordingRelay, queue_mail, statements_of
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tenantry.api.endpoint import _noting
from tenantry.app import create_app
from tenantry.clock import FrozenClock, SystemClock
from tenantry.config import Settings
from tenantry.db.engine import write_transaction
from tenantry.db.migrate import upgrade
from tenantry.db.schema import outbox as outbox_table
from tenantry.email import outbox
from tenantry.email.delivery import DeliveryLoop, DeliveryPolicy
from tenantry.projects.service import create_project
from tenantry.wake import handoff_lease, offer_handoff, take_handed

POLICY = DeliveryPolicy(sender="t@tenantry.localhost", lease_seconds=8)  # window 2 s: leased 10 s


def queue_handed(engine: Engine, clock: object, *recipients: str) -> tuple[outbox.HandedMail, ...]:
    with write_transaction(engine) as conn:
        offer_handoff(conn, POLICY.lease_seconds + POLICY.batch_window)
        for to in recipients:
            queue_mail(conn, clock, to)
        return take_handed(conn)


def rows(engine: Engine) -> dict[str, sa.Row]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return {row.to_address: row for row in conn.execute(sa.select(outbox_table))}


def test_queued_mail_is_leased_in_its_own_transaction_and_sent_without_a_claim(engine: Engine) -> None:
    clock = FrozenClock()
    handed = queue_handed(engine, clock, "a@x.com", "b@x.com")
    assert [h.mail.to_address for h in handed] == ["a@x.com", "b@x.com"]
    assert [h.mail.attempts for h in handed] == [1, 1]
    held = rows(engine)
    for to in ("a@x.com", "b@x.com"):  # a batch's lease, from the moment it was queued
        assert held[to].attempts == 1
        assert held[to].lease_until.replace(tzinfo=None) == (clock.now() + timedelta(seconds=10)).replace(tzinfo=None)
    with write_transaction(engine) as conn:  # no other worker's claim takes it
        assert outbox.claim(conn, clock, limit=5) == []

    relay = RecordingRelay()
    loop = DeliveryLoop(engine, clock, relay, POLICY)
    with statements_of(engine, outbox._ANY_DUE, outbox._LEASE) as seen:
        loop.hand(handed)
        assert asyncio.run(loop.run_once()) == 2
    assert relay.sent == ["a@x.com", "b@x.com"] and seen == []
    done = rows(engine)
    assert {row.status for row in done.values()} == {"sent"}
    assert {row.attempts for row in done.values()} == {1}
    assert handed[0].mail.message_id == done["a@x.com"].message_id


def test_mail_handed_while_the_first_waits_to_be_recorded_is_sent_at_once_and_recorded_with_it(
    engine: Engine,
) -> None:
    clock = FrozenClock()
    first = queue_handed(engine, clock, "a@x.com")
    second = queue_handed(engine, clock, "b@x.com", "c@x.com")
    relay = RecordingRelay()
    loop = DeliveryLoop(engine, clock, relay, replace(POLICY, record_delay=1.0))

    async def requests_hand_mail_a_moment_apart() -> int:
        loop.hand(first)
        delivering = asyncio.create_task(loop.run_once())
        await asyncio.sleep(0.05)
        # Sent without waiting for the record; not recorded yet.
        assert relay.sent == ["a@x.com"] and rows(engine)["a@x.com"].status == "queued"
        loop.hand(second)
        await asyncio.sleep(0.05)
        assert relay.sent == ["a@x.com", "b@x.com", "c@x.com"] and not delivering.done()
        return await delivering

    with statements_of(engine, outbox._SENT, outbox._LEASE) as seen:
        started = time.monotonic()
        assert asyncio.run(requests_hand_mail_a_moment_apart()) == 3
    assert seen == [outbox._SENT]  # one write recorded all three, after the delay
    assert time.monotonic() - started >= 1.0
    assert {row.status for row in rows(engine).values()} == {"sent"}


def test_a_full_batch_of_handed_mail_is_recorded_without_waiting_out_the_delay(engine: Engine) -> None:
    clock = FrozenClock()
    handed = queue_handed(engine, clock, "a@x.com", "b@x.com", "c@x.com")
    loop = DeliveryLoop(engine, clock, RecordingRelay(), replace(POLICY, record_delay=60.0, batch=3))
    loop.hand(handed)
    started = time.monotonic()
    assert asyncio.run(loop.run_once()) == 3
    assert time.monotonic() - started < 30
    assert {row.status for row in rows(engine).values()} == {"sent"}


def test_a_loop_stopped_before_recording_what_it_sent_records_it_as_it_stops(engine: Engine) -> None:
    clock = FrozenClock()
    handed = queue_handed(engine, clock, "a@x.com")
    later = queue_handed(engine, clock, "b@x.com")
    relay = RecordingRelay()
    loop = DeliveryLoop(engine, clock, relay, replace(POLICY, record_delay=60.0))

    async def stopped_while_waiting() -> None:
        loop.hand(handed)
        delivering = asyncio.create_task(loop.run_once())
        await asyncio.sleep(0.05)
        delivering.cancel()  # the server stops (lifespan cancels the loop's task)
        with pytest.raises(asyncio.CancelledError):
            await delivering
        loop.hand(later)  # a request that committed as the loop stopped

    asyncio.run(stopped_while_waiting())
    assert relay.sent == ["a@x.com"]
    loop.give_back()
    held = rows(engine)
    # Sent: recorded, so not sent again when its lease lapses. Never tried: free for any worker.
    assert (held["a@x.com"].status, held["a@x.com"].lease_until) == ("sent", None)
    assert (held["b@x.com"].status, held["b@x.com"].lease_until, held["b@x.com"].attempts) == ("queued", None, 0)
    with write_transaction(engine) as conn:
        assert [m.to_address for m in outbox.claim(conn, clock, limit=5)] == ["b@x.com"]


def test_a_wake_that_comes_while_handed_mail_waits_gets_its_pass(engine: Engine) -> None:
    clock = FrozenClock()
    handed = queue_handed(engine, clock, "a@x.com")
    loop = DeliveryLoop(engine, clock, RecordingRelay(), replace(POLICY, record_delay=0.2))

    async def woken_meanwhile() -> bool:
        loop.hand(handed)
        delivering = asyncio.create_task(loop.run_once())
        await asyncio.sleep(0.05)
        loop.wake()  # mail queued without a hand-off (another path, or another worker's)
        await delivering
        return loop._wake.is_set()

    # The pass's own wait cleared the event; it is set again so that poll_forever passes at once.
    assert asyncio.run(woken_meanwhile())


def test_handed_mail_whose_send_cannot_start_in_time_is_given_back_and_claimed_afresh(engine: Engine) -> None:
    clock = FrozenClock()
    [late] = queue_handed(engine, clock, "late@x.com")
    relay = RecordingRelay()
    loop = DeliveryLoop(engine, clock, relay, POLICY)
    # The loop got to it more than the batch window after its lease began (a stalled loop):
    # a send begun now might not end half a lease before the lease lapses.
    loop.hand((outbox.HandedMail(late.mail, time.monotonic() - POLICY.batch_window - 0.5),))
    with statements_of(engine, outbox._LEASE, outbox._RELEASE) as seen:
        assert asyncio.run(loop.run_once()) == 1
    # Not sent under the handed lease: given back in the pass's write, and claimed again in the
    # same write under a lease of its own, then sent.
    assert seen == [outbox._RELEASE, outbox._LEASE] and relay.sent == ["late@x.com"]
    row = rows(engine)["late@x.com"]
    assert (row.status, row.attempts) == ("sent", 1)  # the untried attempt was given back


def test_nothing_is_handed_for_a_transaction_that_rolled_back(engine: Engine) -> None:
    clock = SystemClock()

    def queue_then_fail(conn: sa.Connection) -> None:
        queue_mail(conn, clock, "never@x.com")
        raise RuntimeError("the change failed after queueing its mail")

    with pytest.raises(RuntimeError):
        _noting(write_transaction, engine, queue_then_fail, 10.0)
    assert rows(engine) == {}
    # The offer and the note went with the transaction: the pooled connection carries neither.
    with write_transaction(engine) as conn:
        assert handoff_lease(conn) is None and take_handed(conn) == ()
        queue_mail(conn, clock, "plain@x.com")
    assert rows(engine)["plain@x.com"].lease_until is None


def test_a_stopping_loop_frees_the_mail_it_was_handed(engine: Engine) -> None:
    clock = FrozenClock()
    handed = queue_handed(engine, clock, "a@x.com")
    loop = DeliveryLoop(engine, clock, RecordingRelay(), POLICY)
    loop.hand(handed)
    loop.give_back()
    row = rows(engine)["a@x.com"]
    assert (row.lease_until, row.attempts) == (None, 0)
    with write_transaction(engine) as conn:  # any worker claims it at once
        assert [m.to_address for m in outbox.claim(conn, clock)] == ["a@x.com"]


def test_a_served_request_hands_its_mail_to_the_loop(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, dev_mailbox_dir=tmp_path / "mailbox")
    app = create_app(settings)
    engine = app.state.runtime.engine
    upgrade(engine)
    with TestClient(app) as client:
        with write_transaction(engine) as conn:
            project, secret = create_project(conn, SystemClock(), name="Clinic")
        with statements_of(engine, outbox._LEASE) as seen:
            sent = client.post(
                "/v1/b2b/magic_links/email/discovery/send",
                json={"email_address": "ana@clinic.example.com"},
                auth=(project.project_id, secret),
            )
            assert sent.status_code == 200, sent.text
            deadline = time.monotonic() + 10
            while {row.status for row in rows(engine).values()} != {"sent"} and time.monotonic() < deadline:
                time.sleep(0.02)
        assert len(list((tmp_path / "mailbox" / "new").iterdir())) == 1
        assert seen == []  # handed, never leased by a claim
        [row] = rows(engine).values()
        assert (row.status, row.attempts) == ("sent", 1)
