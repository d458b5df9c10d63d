"""The delivery loop: every worker runs one; leases in the outbox keep them from colliding.

queued --claim (lease)--> sending --accepted--> sent (bodies erased)
   ^                         |
   +---- failed: retry ------+---- failed max_attempts times --> dead (kept for the operator)

Mails are claimed in batches (one lease, one write to claim, one to record; DeliveryPolicy says
how a batch keeps every send inside its lease). A worker killed while sending leaves the lease to
lapse; the mails are then claimed again and sent with the same Message-ID, so nothing queued is lost.

Mail handed over by requests (tenantry.email.outbox) is sent at once, but recorded together with
the mail handed in the next ``record_delay``: at a light load each request hands one mail, and one
write per mail cost a worker more than its sends did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from anyio import to_thread
from sqlalchemy.engine import Connection, Engine

from tenantry.clock import Clock
from tenantry.config import Settings
from tenantry.db.engine import read_transaction, write_transaction
from tenantry.db.outage import OutageLog, poll_forever
from tenantry.email import outbox
from tenantry.email.backends import MailBackend
from tenantry.email.dkim_keys import DkimSigner
from tenantry.email.message import envelope

log = logging.getLogger("tenantry.email")

# Mails leased by one claim, delivered, then marked sent (and the next batch claimed) in one
# write: per batch two writes where one mail at a time took two per mail.
BATCH = 20
# Mails per pass; the loop passes again at once after a full one.
PER_PASS = 100


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long a claim holds its mails, and how long each send may take.

    No mail may be sent by two workers at once: a send must end while its lease is live, with
    room to spare (clocks of two machines differ a little, and the write that records the send
    comes after it). A lone mail is leased ``lease_seconds`` and its send cut off at half of
    that, so it ends at least half a lease before the lease lapses. A batch keeps exactly that:
    each of its sends has the same timeout, and one more send starts only within
    ``batch_window`` of the claim (measured from before the claim's write began), so it too ends
    at least half a lease before its lease lapses, which for a batch of two or more is
    ``lease_seconds + batch_window`` (``tenantry.email.outbox.claim``). Sends that could not
    start in the window are given back, untried, in the write that records the batch, and go
    first in the next claim. A worker killed mid-batch leaves all of its leases to lapse; each
    mail is then sent by the next claim, under its Message-ID, so nothing queued is lost (a
    batch's mails wait the window longer than a lone mail would).
    """

    sender: str
    poll_seconds: float = 1.0
    max_attempts: int = outbox.MAX_ATTEMPTS
    lease_seconds: float = outbox.LEASE_SECONDS
    signer: DkimSigner | None = None
    batch: int = BATCH
    # How long a handed mail, once sent, waits to be recorded in one write with the mail handed
    # after it. A worker killed in that time sends it again (same Message-ID), as after a crash
    # mid-batch; a worker that stops records it (``DeliveryLoop.give_back``).
    record_delay: float = 0.05

    @property
    def send_timeout(self) -> float:
        # A send must end well inside its lease, or another worker could send the mail again.
        return self.lease_seconds / 2

    @property
    def batch_window(self) -> float:
        # Sends to a relay take milliseconds; a quarter of a lease (15 s by default) lets a full
        # batch through even a slow relay, and costs a killed batch that much more waiting.
        return self.lease_seconds / 4


@dataclass
class _Outcome:
    """What became of a claimed batch, recorded in one write."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[outbox.OutgoingMail, str]] = field(default_factory=list)
    untried: list[str] = field(default_factory=list)

    def merge(self, other: _Outcome) -> None:
        self.sent.extend(other.sent)
        self.failed.extend(other.failed)
        self.untried.extend(other.untried)


class DeliveryLoop:
    def __init__(self, engine: Engine, clock: Clock, backend: MailBackend, policy: DeliveryPolicy) -> None:
        self.engine = engine
        self.clock = clock
        self.backend = backend
        self.policy = policy
        self._wake = asyncio.Event()
        self._woken = False  # a request queued mail since the last pass began
        self._handed: list[outbox.HandedMail] = []  # leased by requests for this loop, not yet taken
        self._unrecorded = _Outcome()  # handed mail sent (or failed) whose write waits for more
        self._outage = OutageLog(log, "outbox delivery")

    def wake(self) -> None:
        """Called after a request queued mail, so it leaves now rather than at the next poll."""
        self._woken = True
        self._wake.set()

    @property
    def handoff_lease_seconds(self) -> float:
        """The lease a request writes on mail it queues for this loop: a claimed batch's."""
        return self.policy.lease_seconds + self.policy.batch_window

    def hand(self, mails: tuple[outbox.HandedMail, ...]) -> None:
        """Called after a request's transaction committed mail it leased for this loop."""
        self._handed.extend(mails)
        self.wake()

    def give_back(self) -> None:
        """The loop is stopping: record the handed mail it sent but had not recorded yet (or it
        would be sent again once its lease lapsed), and free the handed mail no pass has taken,
        so that any worker may claim it at once instead of after its lease."""
        handed, self._handed = self._handed, []
        outcome, self._unrecorded = self._unrecorded, _Outcome()
        outcome.untried.extend(h.mail.id for h in handed)
        if outcome.sent or outcome.failed or outcome.untried:
            self._record(outcome, claim_more=False)

    async def run_forever(self) -> None:
        async def one_pass() -> bool:
            return await self.run_once() >= PER_PASS  # more may be due at once

        await poll_forever(one_pass, self._wake, self.policy.poll_seconds, self._outage)

    async def run_once(self) -> int:
        # Timer passes mostly find nothing: a read answers those without taking SQLite's single
        # write lock. After a wake there is mail to claim (unless the pass before took it), so the
        # read would only add a transaction and a trip to a thread: three per onboarding journey.
        woken, self._woken = self._woken, False
        if self._handed:
            handled = await self._send_handed()
            outcome, self._unrecorded = self._unrecorded, _Outcome()
            claimed_at = time.monotonic()  # the next batch's window counts from before its claim
            batch = await to_thread.run_sync(self._record, outcome, handled < PER_PASS)
        else:
            if not woken and not await to_thread.run_sync(self._any_due):
                return 0
            claimed_at = time.monotonic()
            batch = await to_thread.run_sync(self._claim)
            handled = 0
        while batch:
            outcome = await self._deliver(batch, claimed_at, first_is_fresh=True)
            handled += len(batch) - len(outcome.untried)
            claim_more = handled < PER_PASS
            claimed_at = time.monotonic()
            batch = await to_thread.run_sync(self._record, outcome, claim_more)
        return handled

    async def _send_handed(self) -> int:
        """Send the mail handed to this loop, and the mail handed to it in the ``record_delay``
        that follows (up to a batch), into ``_unrecorded``; the number of mails tried. A mail given
        back untried ends the wait: the write that records it lets any worker claim it."""
        tried = 0
        deadline = time.monotonic() + self.policy.record_delay
        while True:
            handed, self._handed = self._handed, []
            if handed:
                # Leased by the requests that queued them: no claim, and the window is counted
                # from the earliest lease, so even the first send may be too late to start.
                mails = [h.mail for h in handed]
                outcome = await self._deliver(mails, min(h.leased_at for h in handed), first_is_fresh=False)
                self._unrecorded.merge(outcome)
                tried += len(mails) - len(outcome.untried)
            remaining = deadline - time.monotonic()
            pending = len(self._unrecorded.sent) + len(self._unrecorded.failed)
            if remaining <= 0 or pending >= self.policy.batch or self._unrecorded.untried:
                break
            if not self._handed:
                self._wake.clear()  # set again by the next hand (or wake)
                try:
                    async with asyncio.timeout(remaining):
                        await self._wake.wait()
                except TimeoutError:
                    break
        if self._woken or self._handed:
            self._wake.set()  # a wake that came while waiting still gets its pass
        return tried

    async def _deliver(self, batch: list[outbox.OutgoingMail], claimed_at: float, *, first_is_fresh: bool) -> _Outcome:
        outcome = _Outcome()
        for index, mail in enumerate(batch):
            if (index or not first_is_fresh) and time.monotonic() - claimed_at > self.policy.batch_window:
                # Too late in the lease to give this send its whole timeout: back to the queue.
                outcome.untried.extend(m.id for m in batch[index:])
                break
            try:
                data = envelope(mail, self.policy.sender, self.policy.signer)
                async with asyncio.timeout(self.policy.send_timeout):  # no task per send, unlike wait_for
                    await self.backend.deliver(data)
            except Exception as exc:  # any delivery failure is retried with backoff
                outcome.failed.append((mail, f"{type(exc).__name__}: {exc}"))
            else:
                outcome.sent.append(mail.id)
        return outcome

    def _any_due(self) -> bool:
        with read_transaction(self.engine) as conn:
            return outbox.any_due(conn, self.clock)

    def _claim_in(self, conn: Connection) -> list[outbox.OutgoingMail]:
        return outbox.claim(
            conn,
            self.clock,
            limit=self.policy.batch,
            lease_seconds=self.policy.lease_seconds,
            batch_extra_seconds=self.policy.batch_window,
        )

    def _claim(self) -> list[outbox.OutgoingMail]:
        with write_transaction(self.engine) as conn:
            return self._claim_in(conn)

    def _record(self, outcome: _Outcome, claim_more: bool) -> list[outbox.OutgoingMail]:
        """Record a batch (sent, failed, untried) and, in the same transaction, lease the next
        one: one write per batch."""
        dead = []
        with write_transaction(self.engine) as conn:
            outbox.mark_sent(conn, self.clock, outcome.sent)
            for mail, error in outcome.failed:
                if outbox.mark_failed(conn, self.clock, mail, error, max_attempts=self.policy.max_attempts):
                    dead.append(mail.id)
            outbox.release(conn, outcome.untried)
            batch = self._claim_in(conn) if claim_more else []
        for mail, error in outcome.failed:
            log.warning(
                "delivery of %s failed (attempt %d%s): %s",
                mail.id,
                mail.attempts,
                ", giving up: dead" if mail.id in dead else "",
                error,
            )
        return batch


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """The loop's policy from TENANTRY_* settings; a DKIM key that does not load stops start-up."""
    signer = None
    if settings.dkim_private_key_file is not None:
        signer = DkimSigner.from_file(
            settings.dkim_private_key_file, selector=settings.dkim_selector, domain=settings.dkim_domain
        )
    return DeliveryPolicy(
        sender=settings.mail_from,
        poll_seconds=settings.outbox_poll_seconds,
        max_attempts=settings.mail_max_attempts,
        lease_seconds=settings.mail_lease_seconds,
        signer=signer,
    )
