"""Counter keys: a keyed hash of (scope, project, value), never the address or email itself.

The HMAC key is ``TENANTRY_RATE_LIMIT_KEY`` when set (the same value on every machine). Without
it, the random key that migration 0006 stored in the database is used, so a zero-configuration
deployment still shares its counters between processes; setting the variable keeps a database
dump alone from being matched against guessed emails or addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantry.db.engine import read_transaction
from tenantry.db.schema import rate_limit_secret


def counter_key(secret: bytes, scope: str, project_id: str, value: str) -> str:
    # NUL cannot occur in any of the parts, so no two distinct triples hash the same message.
    message = "\x00".join((scope, project_id, value)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class KeySource:
    """The HMAC key: the configured one, else the database's, read once per process."""

    def __init__(self, engine: Engine, configured: str | None) -> None:
        self._engine = engine
        self._secret = configured.encode() if configured else None
        self._lock = threading.Lock()

    def secret(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    with read_transaction(self._engine) as conn:
                        stored = conn.execute(sa.select(rate_limit_secret.c.secret)).scalar_one()
                    self._secret = bytes.fromhex(stored)
        return self._secret
