"""The delivery loop leases mails in batches: one claim, one lease, one write to record them.

What a batch must keep from one-at-a-time delivery: every send ends while its lease is live with
half a lease to spare, so a batch starts its later sends only within its window and gives the
rest back untried; a given-back mail keeps its attempt count; failures back off and die as before.
Real databases (SQLite, PostgreSQL), the outbox and loop as the server runs them; only the relay
is a stand-in (a backend that takes as long as the test says).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from mailtest import RecordingRelay, queue_mail, statements_of
from sqlalchemy.engine import Engine

from tenantry.clock import FrozenClock, SystemClock, as_utc
from tenantry.db.engine import write_transaction
from tenantry.db.schema import outbox as outbox_table
from tenantry.email import outbox
from tenantry.email.delivery import DeliveryLoop, DeliveryPolicy
from tenantry.email.message import Envelope


def queue(engine: Engine, clock: object, *recipients: str) -> list[str]:
    with write_transaction(engine) as conn:
        return [queue_mail(conn, clock, to) for to in recipients]


def rows(engine: Engine) -> dict[str, sa.Row]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return {row.to_address: row for row in conn.execute(sa.select(outbox_table))}


def test_one_claim_leases_a_batch_under_one_lease_oldest_first(engine: Engine) -> None:
    clock = FrozenClock()
    queue(engine, clock, "a@x.com")
    clock.advance(seconds=1)
    queue(engine, clock, "b@x.com", "c@x.com")
    now = clock.now()

    with write_transaction(engine) as conn:
        batch = outbox.claim(conn, clock, limit=2, lease_seconds=8, batch_extra_seconds=2)
    assert [m.to_address for m in batch] == ["a@x.com", "b@x.com"]
    assert [m.attempts for m in batch] == [1, 1]
    held = rows(engine)
    # Two mails: the lease covers the batch's window too.
    assert held["a@x.com"].lease_until == held["b@x.com"].lease_until
    assert held["a@x.com"].lease_until.replace(tzinfo=None) == (now + timedelta(seconds=10)).replace(tzinfo=None)
    assert held["c@x.com"].lease_until is None and held["c@x.com"].attempts == 0

    with write_transaction(engine) as conn:
        [lone] = outbox.claim(conn, clock, limit=2, lease_seconds=8, batch_extra_seconds=2)
        assert outbox.claim(conn, clock, limit=2, lease_seconds=8, batch_extra_seconds=2) == []
    assert lone.to_address == "c@x.com"
    # One mail: the plain lease.
    lease = rows(engine)["c@x.com"].lease_until
    assert lease.replace(tzinfo=None) == (now + timedelta(seconds=8)).replace(tzinfo=None)

    # Sent: bodies erased. Given back untried: free again, its attempt returned. The rest lapse.
    with write_transaction(engine) as conn:
        outbox.mark_sent(conn, clock, [batch[0].id])
        outbox.release(conn, [batch[1].id])
    after = rows(engine)
    assert after["a@x.com"].status == "sent" and after["a@x.com"].text_body is None
    assert after["b@x.com"].lease_until is None and after["b@x.com"].attempts == 0
    with write_transaction(engine) as conn:
        assert [m.to_address for m in outbox.claim(conn, clock, limit=5, lease_seconds=8)] == ["b@x.com"]
    clock.advance(seconds=9)  # the leases lapsed (their worker died, say): claimed again, same Message-ID
    with write_transaction(engine) as conn:
        again = {m.to_address: m for m in outbox.claim(conn, clock, limit=5, lease_seconds=8)}
    assert sorted(again) == ["b@x.com", "c@x.com"]
    assert again["c@x.com"].message_id == lone.message_id and again["c@x.com"].attempts == 2


@dataclass
class SlowRelay:
    """Accepts every mail after ``seconds``, noting how much of its lease was left when it began."""

    engine: Engine
    seconds: float
    sent: list[tuple[str, float]] = field(default_factory=list)

    async def deliver(self, envelope: Envelope) -> None:
        began = datetime.now(UTC)
        with self.engine.connect() as conn:
            lease = conn.execute(
                sa.select(outbox_table.c.lease_until).where(outbox_table.c.message_id == envelope.message_id)
            ).scalar_one()
        self.sent.append((envelope.recipient, (as_utc(lease) - began).total_seconds()))
        await asyncio.sleep(self.seconds)


def test_a_batch_starts_no_send_its_lease_cannot_cover(engine: Engine) -> None:
    # Lease 4 s: each send may take 2 s and must end 2 s before its lease lapses, so a send may
    # begin only with more than 4 s of lease left (3 s, as leases are written in whole seconds;
    # 2.75 s leaves room for the moments between a claim and its first send).
    # A batch of several is leased 1 s longer and starts its later sends within that second.
    # Sends of 1.2 s: one per batch, the rest go back and come first in the next claim. Sent one
    # after the other under the first lease, c would begin with at most 2.6 s left.
    clock = SystemClock()
    queue(engine, clock, "a@x.com", "b@x.com", "c@x.com")
    relay = SlowRelay(engine, 1.2)
    policy = DeliveryPolicy(sender="Tenantry <no-reply@tenantry.localhost>", lease_seconds=4)
    assert (policy.send_timeout, policy.batch_window) == (2, 1)
    loop = DeliveryLoop(engine, clock, relay, policy)

    assert asyncio.run(loop.run_once()) == 3
    assert [to for to, _ in relay.sent] == ["a@x.com", "b@x.com", "c@x.com"]
    left = [seconds for _, seconds in relay.sent]
    assert all(seconds > 2.75 for seconds in left), f"a send began with too little of its lease left: {left}"
    done = rows(engine)
    assert {row.status for row in done.values()} == {"sent"}
    assert [done[to].attempts for to in ("a@x.com", "b@x.com", "c@x.com")] == [1, 1, 1]  # given back, not counted


def test_a_fast_batch_is_sent_under_one_lease_and_failures_back_off(engine: Engine) -> None:
    class Relay:
        def __init__(self) -> None:
            self.sent: list[str] = []

        async def deliver(self, envelope: Envelope) -> None:
            if envelope.recipient == "bad@x.com":
                raise ConnectionRefusedError("relay said no")
            self.sent.append(envelope.recipient)

    clock = FrozenClock()
    queue(engine, clock, "a@x.com", "bad@x.com", "c@x.com")
    relay = Relay()
    loop = DeliveryLoop(engine, clock, relay, DeliveryPolicy(sender="t@tenantry.localhost", max_attempts=2))
    started = time.monotonic()
    assert asyncio.run(loop.run_once()) == 3
    assert time.monotonic() - started < 5
    assert relay.sent == ["a@x.com", "c@x.com"]
    done = rows(engine)
    assert done["a@x.com"].status == done["c@x.com"].status == "sent"
    bad = done["bad@x.com"]
    assert bad.status == "queued" and bad.attempts == 1 and bad.lease_until is None
    assert "relay said no" in bad.last_error
    assert bad.next_attempt_at.replace(tzinfo=None) == (clock.now() + timedelta(seconds=2)).replace(tzinfo=None)

    assert asyncio.run(loop.run_once()) == 0  # backing off
    clock.advance(seconds=2)
    assert asyncio.run(loop.run_once()) == 1
    assert rows(engine)["bad@x.com"].status == "dead"  # the second of two attempts failed


def test_a_woken_pass_claims_without_asking_first_and_a_timer_pass_asks(engine: Engine) -> None:
    # A wake follows a commit that queued mail, so the "anything due?" read would find it: the
    # woken pass goes straight to the claim. A timer pass, which mostly finds nothing, reads first.
    clock = FrozenClock()
    relay = RecordingRelay()
    loop = DeliveryLoop(engine, clock, relay, DeliveryPolicy(sender="t@tenantry.localhost"))
    with statements_of(engine, outbox._ANY_DUE) as asked:
        queue(engine, clock, "a@x.com")
        loop.wake()
        assert asyncio.run(loop.run_once()) == 1
        assert (relay.sent, asked) == (["a@x.com"], [])

        assert asyncio.run(loop.run_once()) == 0  # the next pass, on the timer
        assert asked == [outbox._ANY_DUE]

        queue(engine, clock, "b@x.com")  # queued elsewhere (another worker): no wake here
        assert asyncio.run(loop.run_once()) == 1
        assert relay.sent == ["a@x.com", "b@x.com"] and asked == [outbox._ANY_DUE] * 2
