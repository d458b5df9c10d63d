"""What a background loop says while its database is unreachable.

The mail and SMS delivery loops poll every second or so; during an outage each pass fails the
same way, and a traceback per pass buried everything else in the log. Instead: one warning when
the outage starts (the error's class and first line), a reminder at most once per
``REMIND_SECONDS`` while it lasts, and one info line when a pass succeeds again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

REMIND_SECONDS = 60.0


def is_unavailable(exc: BaseException) -> bool:
    """The database is away (down, unreachable, overloaded, hung past the statement timeout),
    as opposed to a bug: the same test as the API's 503 (tenantry.api.errors.unexpected)."""
    return isinstance(exc, OperationalError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def describe(exc: BaseException) -> str:
    """``Class: first line of the driver's message``: no SQL, no parameters (the driver's
    messages name host and port, never a password)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


class OutageLog:
    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        remind_seconds: float = REMIND_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.remind_seconds = remind_seconds
        self.now = now
        self.since: float | None = None
        self.last_said = 0.0
        self.failures = 0

    def failed(self, exc: BaseException) -> None:
        now = self.now()
        self.failures += 1
        if self.since is None:
            self.since = self.last_said = now
            self.log.warning("%s: database unavailable, retrying quietly: %s", self.what, describe(exc))
        elif now - self.last_said >= self.remind_seconds:
            self.last_said = now
            self.log.warning(
                "%s: database still unavailable after %.0f s (%d failed passes): %s",
                self.what,
                now - self.since,
                self.failures,
                describe(exc),
            )

    def succeeded(self) -> None:
        if self.since is None:
            return
        self.log.info(
            "%s: database available again after %.0f s (%d failed passes)",
            self.what,
            self.now() - self.since,
            self.failures,
        )
        self.since = None
        self.failures = 0


async def poll_forever(
    one_pass: Callable[[], Awaitable[bool]], wake: asyncio.Event, poll_seconds: float, outage: OutageLog
) -> None:
    """A delivery loop: run ``one_pass`` again at once while it says more is due, then wait for a
    wake or ``poll_seconds``. A pass that fails because the database is away is told to
    ``outage``; any other failure logs its traceback. Either way the loop goes on."""
    while True:
        try:
            while await one_pass():
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                outage.failed(exc)  # one warning, not a traceback per pass
            else:
                outage.log.exception("%s pass failed", outage.what)
        else:
            outage.succeeded()
        try:
            await asyncio.wait_for(wake.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
        wake.clear()
