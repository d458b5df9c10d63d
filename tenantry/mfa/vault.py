"""Sealing the MFA secrets that must stay recoverable, and keyed digests of recovery codes.

Magic-link tokens and session tokens are only ever compared, so a plain digest suffices. A TOTP
secret is needed in the clear to compute the expected code, and Stytch's
``GET /v1/b2b/recovery_codes`` returns the codes, so both are stored sealed with AES-256-GCM
instead. Recovery codes are also stored as an HMAC digest, which redemption matches on.

Keys come from one master secret through HKDF-SHA256 (one key for sealing, one for digests):
``TENANTRY_MFA_KEY`` when configured, else the random key migration 0008 stored in the
database. Setting the variable keeps a database dump alone from unsealing anything. Every
sealed value names its key (a fingerprint of the master), so values sealed under the database
key still open after the variable is introduced. The associated data binds a sealed value to
the row it belongs to: a ciphertext copied into another member's row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Connection

from tenantry.db.schema import server_keys

FORMAT = "v1"
NONCE_BYTES = 12


# TENANTRY_MFA_KEY of this process, set once by ``create_app``: a login that leaves MFA
# outstanding seals the pre-emptive SMS deep inside domain code that has no settings at hand.
_process_key: str | None = None


def configure_process_key(key: str | None) -> None:
    global _process_key
    _process_key = key


def process_vault(conn: Connection) -> Vault:
    """The vault under this process's configured key (see ``configure_process_key``)."""
    return Vault.load(conn, _process_key)


class VaultError(Exception):
    """A sealed value that cannot be opened: unknown key, tampered, or moved to another row."""


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"tenantry/mfa/{purpose}".encode()).derive(master)


@dataclass(frozen=True)
class _Key:
    key_id: str
    sealing: bytes
    digesting: bytes

    @classmethod
    def from_master(cls, master: bytes) -> _Key:
        key_id = hashlib.sha256(b"tenantry/mfa/key-id" + master).hexdigest()[:12]
        return cls(key_id, _derive(master, "seal"), _derive(master, "digest"))


class Vault:
    def __init__(self, current: _Key, others: list[_Key]) -> None:
        self._current = current
        self._keys = {k.key_id: k for k in [current, *others]}

    @classmethod
    def load(cls, conn: Connection, configured: str | None) -> Vault:
        stored = conn.execute(sa.select(server_keys.c.key_material).where(server_keys.c.name == "mfa")).scalar()
        database_key = _Key.from_master(bytes.fromhex(stored)) if stored else None
        if configured:
            return cls(_Key.from_master(configured.encode()), [database_key] if database_key else [])
        if database_key is None:
            raise RuntimeError("no MFA master key: run the migrations or set TENANTRY_MFA_KEY")
        return cls(database_key, [])

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._current.sealing).encrypt(nonce, plaintext.encode(), context.encode())
        payload = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{FORMAT}.{self._current.key_id}.{payload}"

    def open(self, sealed: str, *, context: str) -> str:
        try:
            version, key_id, payload = sealed.split(".", 2)
            key = self._keys[key_id]
            raw = base64.urlsafe_b64decode(payload)
            if version != FORMAT:
                raise ValueError(version)
            return AESGCM(key.sealing).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (ValueError, KeyError, InvalidTag) as exc:
            raise VaultError("a sealed MFA secret could not be opened") from exc

    def digest(self, value: str, *, context: str) -> str:
        """A keyed digest under the current key (lookups of values sealed under an older key
        therefore need that key's digest too: see ``digests``)."""
        return self.digests(value, context=context)[0]

    def digests(self, value: str, *, context: str) -> list[str]:
        """The value's digest under every known key, current first."""
        message = f"{context}\x00{value}".encode()
        return [hmac.new(k.digesting, message, hashlib.sha256).hexdigest() for k in self._keys.values()]
