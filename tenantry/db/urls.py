"""Which database a URL names: kept apart from ``tenantry.db.engine`` so that modules the engine
imports (planner statistics) can ask too."""

from __future__ import annotations

import sqlalchemy as sa


def normalise_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``) and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return normalise_url(url).startswith("sqlite")


def sqlite_file(url: str) -> str | None:
    """The SQLite file behind ``url``, or None (PostgreSQL, in-memory SQLite)."""
    url = normalise_url(url)
    if not is_sqlite(url):
        return None
    database = sa.engine.make_url(url).database
    return database if database and database != ":memory:" else None
