"""What is limited and how much: the rule syntax of the settings and a route's declaration."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Channel = Literal["email", "sms"]
# Checked in this order, narrowest first: a request refused for its recipient never reaches the
# address's or the project's counter, so hammering one address cannot spend the project's quota.
Scope = Literal["email", "phone", "ip", "project"]

_RULE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smh]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class Rule:
    """At most ``count`` requests in ``window_seconds``, counted from the first one."""

    count: int
    window_seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.window_seconds}s"


def parse_rule(value: object) -> Rule | None:
    """``"10/60s"`` (also ``"10/60"``, ``"10/1m"``, ``"100/1h"``) or ``"off"`` (None)."""
    if value is None or isinstance(value, Rule):
        return value
    text = str(value).strip().lower()
    if text in ("off", "none", "0", ""):
        return None
    match = _RULE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"rate limit {value!r} is not COUNT/WINDOW (e.g. '10/60s', '300/1m') or 'off'")
    count, window = int(match.group(1)), int(match.group(2)) * _UNIT_SECONDS[match.group(3)]
    if count < 1 or window < 1:
        raise ValueError(f"rate limit {value!r}: count and window must be at least 1")
    return Rule(count, window)


def _normalise_email(address: str) -> str:
    return address.strip().lower()


def _normalise_phone(number: str) -> str:
    # "+1 (415) 555-0100" and "+14155550100" are one recipient.
    return re.sub(r"[\s().-]", "", number)


@dataclass(frozen=True)
class SendLimit:
    """A send route's declaration: which channel it sends on and where the recipient is in the
    parsed body. The recipient, the client address and the project are then each limited."""

    channel: Channel
    recipient: Callable[[Any], str | None]
    # Whom to count when the body names no recipient, as an SMS to the member's enrolled number.
    fallback: Callable[[Any], str] | None = None

    @property
    def scope(self) -> Scope:
        return "email" if self.channel == "email" else "phone"

    def recipient_key(self, body: Any) -> str | None:
        value = self.recipient(body)
        if not value:
            return f"fallback:{self.fallback(body)}" if self.fallback is not None else None
        return _normalise_email(value) if self.channel == "email" else _normalise_phone(value)
