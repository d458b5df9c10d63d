"""The SMS area's part of the composition root: which sender, its delivery loop, and the dev
pages. ``create_app`` builds it once and starts/stops the loop with the server."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine
from starlette.routing import Route

from tenantry.clock import Clock
from tenantry.config import Settings
from tenantry.mfa.vault import Vault
from tenantry.sms.delivery import SmsDeliveryLoop
from tenantry.sms.senders import DevSmsOutbox, SmsMessage, SmsSender, SmsSendError, TwilioCompatibleSender
from tenantry.web import dev_sms


class NoSender:
    """Production without ``TENANTRY_SMS_URL``: the send route refuses with a clear error, and a
    code queued anyway (a login's pre-emptive SMS) is marked dead rather than left waiting."""

    async def send(self, message: SmsMessage) -> str | None:
        raise SmsSendError("no SMS provider configured (TENANTRY_SMS_URL)", permanent=True)

    async def close(self) -> None:
        return None


def build_sender(settings: Settings) -> SmsSender:
    if settings.sms.url:
        return TwilioCompatibleSender(settings.sms)
    if settings.mode == "development":
        return DevSmsOutbox(settings.sms.dev_outbox_dir)
    return NoSender()


@dataclass
class Sms:
    sender: SmsSender
    delivery: SmsDeliveryLoop
    routes: list[Route]
    _task: asyncio.Task[None] | None = field(default=None)

    def start(self) -> None:
        self._task = asyncio.create_task(self.delivery.run_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.sender.close()


def build(settings: Settings, engine: Engine, clock: Clock) -> Sms:
    sender = build_sender(settings)
    key = settings.mfa_key.get_secret_value() if settings.mfa_key else None

    def vault(conn: Connection) -> Vault:
        return Vault.load(conn, key)

    delivery = SmsDeliveryLoop(engine, clock, sender, vault=vault, poll_seconds=settings.outbox_poll_seconds)
    routes: list[Any] = dev_sms.routes(sender, engine) if isinstance(sender, DevSmsOutbox) else []
    return Sms(sender, delivery, routes)
