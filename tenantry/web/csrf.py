"""CSRF protection for the Continue page: a double-submit cookie bound to a keyed hidden field.

The GET sets a random nonce in a ``SameSite=Strict``, ``HttpOnly`` cookie and puts
``HMAC(key, nonce + token digest)`` in the form. A POST is honoured only when the field matches
the cookie it came with and the token it names, so a cross-site form (which carries no Strict
cookie and cannot compute the field) and a replayed field for another link are both refused.

The HMAC key lives in the database (``server_keys``), created once by whichever worker needs it
first, so every worker and every server on the database accepts what any other one issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from tenantry import tokens
from tenantry.clock import Clock
from tenantry.db.engine import write_transaction
from tenantry.db.schema import server_keys

KEY_NAME = "links.continue.csrf"
NONCE_BYTES = 32


def nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def well_formed(value: str | None) -> bool:
    return bool(value) and len(value or "") == 43 and all(c.isalnum() or c in "-_" for c in value or "")


def field(key: bytes, nonce_value: str, token: str) -> str:
    message = f"{nonce_value}\x00{tokens.digest(token)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, nonce_value: str | None, token: str, given: str | None) -> bool:
    if not well_formed(nonce_value) or not token or not given:
        return False
    return hmac.compare_digest(field(key, nonce_value or "", token), given)


class SharedKey:
    """The key from the database, read once per process (it never changes once written)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load()
            return self._key

    def _load(self) -> bytes:
        with write_transaction(self._engine) as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            # Two workers may get here at once: the first insert wins, both then read the same row.
            conn.execute(
                insert(server_keys)
                .values(name=KEY_NAME, key_material=secrets.token_hex(32), created_at=self._clock.now())
                .on_conflict_do_nothing(index_elements=[server_keys.c.name])
            )
            material = conn.execute(
                sa.select(server_keys.c.key_material).where(server_keys.c.name == KEY_NAME)
            ).scalar_one()
        return bytes.fromhex(material)
