"""The three places counters can live: the database on SQLite, on PostgreSQL, and Redis."""

from __future__ import annotations

import pytest

# ``database_url`` is tests/conftest.py's fixture; ``counters`` is ratelimit/conftest.py's.
LANES = pytest.mark.parametrize(
    ("database_url", "counters"),
    [("sqlite", "database"), ("postgresql", "database"), ("sqlite", "redis")],
    indirect=True,
    ids=["sqlite", "postgresql", "redis"],
)
