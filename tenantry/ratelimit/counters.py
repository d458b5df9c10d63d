"""The shape shared by both counter backends."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from tenantry.ratelimit.rules import Rule, Scope


@dataclass(frozen=True)
class Hit:
    """One counter a request increments: its scope, keyed digest and rule."""

    scope: Scope
    key: str
    rule: Rule


@dataclass(frozen=True)
class Refusal:
    scope: Scope
    retry_after_seconds: int


def retry_after(seconds_left: float) -> int:
    # Whole seconds, rounded up: retrying after that many seconds always finds a fresh window.
    return max(1, math.ceil(seconds_left))


class Counters(Protocol):
    def hit(self, hits: list[Hit]) -> Refusal | None:
        """Count one request in each counter, in order, stopping at the first that is over its
        rule; that one is returned. Every increment made is kept, refused or not."""
        ...
