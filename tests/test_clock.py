"""Timestamps on the wire: RFC 3339 in UTC, to the second, as Stytch writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tenantry.clock import rfc3339


def test_rfc3339_writes_utc_to_the_second_whatever_it_is_given() -> None:
    assert rfc3339(None) is None
    # Naive values are UTC (SQLite hands them back so).
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert rfc3339(datetime(2026, 1, 2, tzinfo=ZoneInfo("UTC"))) == "2026-01-02T00:00:00Z"
    assert rfc3339(datetime(2026, 1, 2, 1, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-01T23:04:05Z"
    assert rfc3339(datetime(999, 12, 31, 23, 59, 59)) == "0999-12-31T23:59:59Z"
