"""The delivery loop: every worker runs one; leases in the outbox keep them from colliding.

queued --claim (lease)--> sending --accepted--> sent (bodies erased)
   ^                         |
   +---- failed: retry ------+---- failed max_attempts times --> dead (kept for the operator)

A worker killed while sending leaves the lease to lapse; the mail is then claimed again and
sent with the same Message-ID, so nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy.engine import Engine

from tenantry.clock import Clock
from tenantry.config import Settings
from tenantry.db.engine import read_transaction, write_transaction
from tenantry.db.outage import OutageLog, poll_forever
from tenantry.email import outbox
from tenantry.email.backends import MailBackend
from tenantry.email.dkim_keys import DkimSigner
from tenantry.email.message import envelope

log = logging.getLogger("tenantry.email")

# Messages per pass; the loop passes again at once while there is more.
BATCH = 20


@dataclass(frozen=True)
class DeliveryPolicy:
    sender: str
    poll_seconds: float = 1.0
    max_attempts: int = outbox.MAX_ATTEMPTS
    lease_seconds: float = outbox.LEASE_SECONDS
    signer: DkimSigner | None = None

    @property
    def send_timeout(self) -> float:
        # A send must end well inside its lease, or another worker could send the mail again.
        return self.lease_seconds / 2


class DeliveryLoop:
    def __init__(self, engine: Engine, clock: Clock, backend: MailBackend, policy: DeliveryPolicy) -> None:
        self.engine = engine
        self.clock = clock
        self.backend = backend
        self.policy = policy
        self._wake = asyncio.Event()
        self._outage = OutageLog(log, "outbox delivery")

    def wake(self) -> None:
        """Called after a request queued mail, so it leaves now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        async def one_pass() -> bool:
            return await self.run_once() == BATCH  # a full batch: more may be due at once

        await poll_forever(one_pass, self._wake, self.policy.poll_seconds, self._outage)

    async def run_once(self) -> int:
        # Timer passes mostly find nothing, and a wake may find its mail sent by the pass before:
        # a read answers those without taking SQLite's single write lock. (Claiming at once after
        # a wake was tried: no measurable gain on the onboarding journey.)
        if not await to_thread.run_sync(self._any_due):
            return 0
        handled = 0
        mail = await to_thread.run_sync(self._claim)
        while mail is not None:
            handled += 1
            more = handled < BATCH
            try:
                data = envelope(mail, self.policy.sender, self.policy.signer)
                await asyncio.wait_for(self.backend.deliver(data), timeout=self.policy.send_timeout)
            except Exception as exc:  # any delivery failure is retried with backoff
                error = f"{type(exc).__name__}: {exc}"
                dead = await to_thread.run_sync(self._fail, mail, error)
                log.warning(
                    "delivery of %s failed (attempt %d%s): %s",
                    mail.id,
                    mail.attempts,
                    ", giving up: dead" if dead else "",
                    error,
                )
                mail = await to_thread.run_sync(self._claim) if more else None
            else:
                mail = await to_thread.run_sync(self._sent, mail.id, more)
        return handled

    def _any_due(self) -> bool:
        with read_transaction(self.engine) as conn:
            return outbox.any_due(conn, self.clock)

    def _claim(self) -> outbox.OutgoingMail | None:
        with write_transaction(self.engine) as conn:
            return outbox.claim_next(conn, self.clock, lease_seconds=self.policy.lease_seconds)

    def _sent(self, mail_id: str, claim_next: bool) -> outbox.OutgoingMail | None:
        """Mark a mail sent and, in the same transaction, lease the next one (one write instead
        of two per mail)."""
        with write_transaction(self.engine) as conn:
            outbox.mark_sent(conn, self.clock, mail_id)
            if not claim_next:
                return None
            return outbox.claim_next(conn, self.clock, lease_seconds=self.policy.lease_seconds)

    def _fail(self, mail: outbox.OutgoingMail, error: str) -> bool:
        with write_transaction(self.engine) as conn:
            return outbox.mark_failed(conn, self.clock, mail, error, max_attempts=self.policy.max_attempts)


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
