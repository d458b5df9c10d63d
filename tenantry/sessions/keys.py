"""RS256 signing keys per project, kept in the database so every worker signs alike.

Rotation (``tenantry keys rotate``): a new key becomes current and the old one is retired.
A retired key stays in the JWKS, and still verifies on the server, for ``RETIRED_KEY_SERVED``
after its retirement: every JWT it signed has expired by then (they live 300 s). After that it
is gone from both, and the next rotation deletes its private key.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.db.prepared import Prepared
from tenantry.db.schema import signing_keys
from tenantry.ids import environment_of


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_signing_key(conn: Connection, clock: Clock, *, project_id: str, signs_from: datetime | None = None) -> str:
    """A new key; it signs from ``signs_from`` (default: now) and is in the JWKS at once."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = f"jwk-{environment_of(project_id)}-{uuid.uuid4()}"
    now = clock.now()
    # A self-signed certificate fills the JWK's x5c/x5tS256, which Stytch's schema requires.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, project_id)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .sign(private_key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    public_jwk = {
        "kty": "RSA",
        "use": "sig",
        "key_ops": ["verify"],
        "alg": "RS256",
        "kid": kid,
        "x5c": [_b64(der)],
        "x5tS256": base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("="),
        "n": jwk["n"],
        "e": jwk["e"],
    }
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    conn.execute(
        signing_keys.insert().values(
            kid=kid,
            project_id=project_id,
            private_key_pem=pem,
            public_jwk=public_jwk,
            created_at=signs_from or now,
        )
    )
    return kid


# JWT lifetime (tenantry.sessions.jwt.JWT_LIFETIME_SECONDS, 300 s) plus a minute for clocks
# that disagree and a JWT minted while the rotation committed.
RETIRED_KEY_SERVED = timedelta(seconds=300 + 60)
# How long a worker trusts its cached "this key is not retired" before asking the database
# again. Shorter than RETIRED_KEY_SERVED, so no worker accepts a key past its time.
RECHECK_SECONDS = 60.0

_parsed_lock = threading.Lock()
# Parsing a PEM costs milliseconds; key material never changes for a kid, so caching it per
# process is safe. Which kid is active is always read from the database.
_parsed_private: dict[str, Any] = {}
# kid -> (project_id, public key, retired_at, monotonic time it was read)
_parsed_public: dict[str, tuple[str, Any, datetime | None, float]] = {}


def _served(retired_at: datetime | None, now: datetime) -> bool:
    return retired_at is None or _aware(retired_at) + RETIRED_KEY_SERVED > now


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored timestamp is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def active_signing_key(conn: Connection, project_id: str, *, now: datetime | None = None) -> tuple[str, Any]:
    """The key that signs now: the newest whose time has come and which is not retired yet.

    A key announced by ``rotate(..., activate_in=...)`` is in the JWKS before it signs, and the
    key it replaces signs until then (its ``retired_at`` lies in the future).
    """
    row = _ACTIVE_KID.first(conn, {"project_id": project_id, "key_now": now or datetime.now(UTC)})
    if row is None:
        raise LookupError(f"project {project_id} has no active signing key")
    return row.kid, private_key(conn, row.kid)


def private_key(conn: Connection, kid: str) -> Any:
    """The parsed private key ``kid``; the PEM is read only for a kid this process has not parsed."""
    key = _parsed_private.get(kid)
    if key is None:
        pem = conn.execute(sa.select(signing_keys.c.private_key_pem).where(signing_keys.c.kid == kid)).scalar_one()
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        with _parsed_lock:
            _parsed_private[kid] = key
    return key


def _active_kid() -> sa.Select[tuple[str]]:
    """The kid ``active_signing_key`` picks, for ``:project_id`` at ``:key_now``; also a scalar
    subquery of a caller's statement (``ACTIVE_KID``) that saves a round trip."""
    now = sa.bindparam("key_now", type_=signing_keys.c.created_at.type)
    return (
        sa.select(signing_keys.c.kid)
        .where(
            signing_keys.c.project_id == sa.bindparam("project_id"),
            signing_keys.c.created_at <= now,
            sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now),
        )
        .order_by(signing_keys.c.created_at.desc())
        .limit(1)
    )


# Built once (every minted JWT asks); the PEM is read only for a kid this process has not parsed.
_ACTIVE_KID = Prepared(_active_kid())
ACTIVE_KID = _ACTIVE_KID.statement.scalar_subquery()


def public_key(conn: Connection, project_id: str, kid: str, *, now: datetime | None = None) -> Any | None:
    """The project's public key ``kid``, while it is current or recently retired.

    ``now`` defaults to the wall clock (the JWT code calls without one).
    """
    now = now or datetime.now(UTC)
    cached = _parsed_public.get(kid)
    if cached is not None and (cached[2] is not None or time.monotonic() - cached[3] < RECHECK_SECONDS):
        owner, key, retired_at, _read = cached
        return key if owner == project_id and _served(retired_at, now) else None
    row = conn.execute(
        sa.select(signing_keys.c.public_jwk, signing_keys.c.retired_at).where(
            signing_keys.c.project_id == project_id, signing_keys.c.kid == kid
        )
    ).first()
    if row is None:
        return None
    key = cached[1] if cached is not None else RSAAlgorithm.from_jwk(dict(row.public_jwk))
    with _parsed_lock:
        _parsed_public[kid] = (project_id, key, row.retired_at, time.monotonic())
    return key if _served(row.retired_at, now) else None


def jwks(conn: Connection, project_id: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The current key and those retired less than ``RETIRED_KEY_SERVED`` ago, newest first."""
    cutoff = (now or datetime.now(UTC)) - RETIRED_KEY_SERVED
    rows = conn.execute(
        sa.select(signing_keys.c.public_jwk)
        .where(
            signing_keys.c.project_id == project_id,
            sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > cutoff),
        )
        .order_by(signing_keys.c.created_at.desc())
    )
    return [dict(r.public_jwk) for r in rows]


def rotate(
    conn: Connection, clock: Clock, *, project_id: str, activate_in: timedelta = timedelta(0)
) -> tuple[str, list[str]]:
    """Make a new key current and retire the others; returns (new kid, retired kids).

    ``activate_in`` publishes the new key in the JWKS that long before it signs: clients that
    cache the JWKS (PyJWKClient: 5 minutes, and it refetches an unknown kid at most every 30 s)
    then know it before the first JWT it signs reaches them.

    Keys retired longer than ``RETIRED_KEY_SERVED`` ago are deleted: nothing they signed can
    verify any more, and a private key not kept cannot leak. One transaction, so a worker sees
    either the old current key or the new one, never none.
    """
    now = clock.now()
    switch_at = now + activate_in
    retired = list(
        conn.execute(
            sa.select(signing_keys.c.kid).where(
                signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None)
            )
        ).scalars()
    )
    conn.execute(
        signing_keys.update()
        .where(signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None))
        .values(retired_at=switch_at)
    )
    conn.execute(
        signing_keys.delete().where(
            signing_keys.c.project_id == project_id, signing_keys.c.retired_at < now - RETIRED_KEY_SERVED
        )
    )
    return create_signing_key(conn, clock, project_id=project_id, signs_from=switch_at), retired


def list_keys(conn: Connection, project_id: str) -> list[tuple[str, datetime, datetime | None]]:
    """(kid, created_at, retired_at) of the project's stored keys, newest first."""
    rows = conn.execute(
        sa.select(signing_keys.c.kid, signing_keys.c.created_at, signing_keys.c.retired_at)
        .where(signing_keys.c.project_id == project_id)
        .order_by(signing_keys.c.created_at.desc())
    )
    return [(r.kid, r.created_at, r.retired_at) for r in rows]
