"""The SMS delivery loop: every worker runs one; leases in the outbox keep them from colliding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from anyio import to_thread
from sqlalchemy.engine import Connection, Engine

from tenantry.clock import Clock
from tenantry.db.engine import read_transaction, write_transaction
from tenantry.db.outage import OutageLog, poll_forever
from tenantry.mfa.vault import Vault, VaultError
from tenantry.sms import outbox
from tenantry.sms.senders import SmsMessage, SmsSender, SmsSendError

log = logging.getLogger("tenantry.sms")


class SmsDeliveryLoop:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sender: SmsSender,
        *,
        vault: Callable[[Connection], Vault],
        poll_seconds: float,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.sender = sender
        self.vault = vault
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._outage = OutageLog(log, "SMS outbox delivery")

    def wake(self) -> None:
        """Called after a request queued a text, so it leaves now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        async def one_pass() -> bool:
            await self.run_once()
            return False

        await poll_forever(one_pass, self._wake, self.poll_seconds, self._outage)

    async def run_once(self) -> int:
        # Most passes are the timer's and find nothing: a read answers them without taking
        # SQLite's single write lock or loading the vault key.
        if not await to_thread.run_sync(self._any_due):
            return 0
        claimed, vault = await to_thread.run_sync(self._claim)
        for sms in claimed:
            try:
                body = vault.open(sms.sealed_body, context=outbox.seal_context(sms.to_number))
            except VaultError:
                # Sealed under a master key this server no longer has: it can never be read.
                await to_thread.run_sync(self._fail, sms, "sealed body cannot be opened (master key changed)", True)
                continue
            message = SmsMessage(id=sms.id, to=sms.to_number, body=body, created_at=sms.created_at)
            try:
                provider_id = await self.sender.send(message)
            except SmsSendError as exc:
                # The error names the provider's complaint; neither it nor this line carries the body.
                log.warning("SMS %s failed (attempt %d): %s", sms.id, sms.attempts, exc)
                await to_thread.run_sync(self._fail, sms, str(exc), exc.permanent)
            except Exception as exc:  # a sender bug must not wedge the queue
                log.warning("SMS %s failed (attempt %d): %s", sms.id, sms.attempts, type(exc).__name__)
                await to_thread.run_sync(self._fail, sms, type(exc).__name__, False)
            else:
                await to_thread.run_sync(self._sent, sms.id, provider_id)
        return len(claimed)

    def _any_due(self) -> bool:
        with read_transaction(self.engine) as conn:
            return outbox.any_due(conn, self.clock)

    def _claim(self) -> tuple[list[outbox.OutgoingSms], Vault]:
        with write_transaction(self.engine) as conn:
            return outbox.claim_due(conn, self.clock), self.vault(conn)

    def _sent(self, sms_id: str, provider_id: str | None) -> None:
        with write_transaction(self.engine) as conn:
            outbox.mark_sent(conn, self.clock, sms_id, provider_id)

    def _fail(self, sms: outbox.OutgoingSms, error: str, permanent: bool) -> None:
        with write_transaction(self.engine) as conn:
            outbox.mark_failed(conn, self.clock, sms, error, permanent=permanent)
