"""The delivery loop: every worker runs one; leases in the outbox keep them from colliding."""

from __future__ import annotations

import asyncio
import logging

from anyio import to_thread
from sqlalchemy.engine import Engine

from tenantry.clock import Clock
from tenantry.db.engine import write_transaction
from tenantry.email import outbox
from tenantry.email.backends import MailBackend, build_message

log = logging.getLogger("tenantry.email")


class DeliveryLoop:
    def __init__(self, engine: Engine, clock: Clock, backend: MailBackend, *, sender: str, poll_seconds: float) -> None:
        self.engine = engine
        self.clock = clock
        self.backend = backend
        self.sender = sender
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a request queued mail, so it leaves now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive a database outage
                log.exception("outbox delivery pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> int:
        claimed = await to_thread.run_sync(self._claim)
        for mail in claimed:
            try:
                await self.backend.deliver(build_message(mail, self.sender))
            except Exception as exc:  # any delivery failure is retried with backoff
                log.warning("delivery of %s failed (attempt %d): %s", mail.id, mail.attempts, exc)
                await to_thread.run_sync(self._fail, mail, f"{type(exc).__name__}: {exc}")
            else:
                await to_thread.run_sync(self._sent, mail.id)
        return len(claimed)

    def _claim(self) -> list[outbox.OutgoingMail]:
        with write_transaction(self.engine) as conn:
            return outbox.claim_due(conn, self.clock)

    def _sent(self, mail_id: str) -> None:
        with write_transaction(self.engine) as conn:
            outbox.mark_sent(conn, self.clock, mail_id)

    def _fail(self, mail: outbox.OutgoingMail, error: str) -> None:
        with write_transaction(self.engine) as conn:
            outbox.mark_failed(conn, self.clock, mail, error)
