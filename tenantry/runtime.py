"""What a running server shares between requests: built once by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cached_property

from sqlalchemy.engine import Engine

from tenantry.clock import Clock
from tenantry.config import Settings
from tenantry.db.loop_reader import LoopReader
from tenantry.email.delivery import DeliveryLoop
from tenantry.email.outbox import HandedMail
from tenantry.ratelimit.limiter import RateLimiter
from tenantry.wake import Outbox


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock
    # Admits or refuses requests to the send endpoints (api(..., limit=...)).
    rate_limiter: RateLimiter
    # Set by the app once the delivery loop runs: wakes it after a request queued mail.
    wake_mailer: Callable[[], None] = field(default=lambda: None)
    # The same for the SMS delivery loop (tenantry.sms.wiring).
    wake_sms: Callable[[], None] = field(default=lambda: None)
    # Set with wake_mailer while the loop runs: it takes the mail a request leased for it as it
    # queued it (tenantry.email.outbox). None: no loop runs here to take it.
    mail_loop: DeliveryLoop | None = None
    # On a SQLite file, the connection of read-mostly requests' first attempt, run on the event
    # loop (tenantry.db.engine.create_loop_reader); None elsewhere.
    loop_reader: LoopReader | None = None

    @cached_property
    def mail_domain(self) -> str:
        """The domain of TENANTRY_MAIL_FROM (Message-IDs end in it); parsed once, on first use."""
        address = parseaddr(self.settings.mail_from)[1]
        return address.rsplit("@", 1)[-1] if "@" in address else "tenantry.localhost"

    def after_commit(self, queued: frozenset[Outbox], handed: tuple[HandedMail, ...] = ()) -> None:
        """Wake the delivery loops whose outbox the committed transaction queued work in, and
        hand the mail loop the mail leased for it."""
        if handed and self.mail_loop is not None:
            self.mail_loop.hand(handed)  # wakes it
        elif "mail" in queued:
            self.wake_mailer()
        if "sms" in queued:
            self.wake_sms()
