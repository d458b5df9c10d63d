"""RS256 signing keys per project, kept in the database so every worker signs alike."""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.db.schema import signing_keys
from tenantry.ids import environment_of


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create_signing_key(conn: Connection, clock: Clock, *, project_id: str) -> str:
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
            kid=kid, project_id=project_id, private_key_pem=pem, public_jwk=public_jwk, created_at=now
        )
    )
    return kid


_parsed_lock = threading.Lock()
# Parsing a PEM costs milliseconds; key material never changes for a kid, so caching it per
# process is safe. Which kid is active is always read from the database.
_parsed_private: dict[str, Any] = {}
_parsed_public: dict[str, Any] = {}


def active_signing_key(conn: Connection, project_id: str) -> tuple[str, Any]:
    row = conn.execute(
        sa.select(signing_keys.c.kid, signing_keys.c.private_key_pem)
        .where(signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None))
        .order_by(signing_keys.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        raise LookupError(f"project {project_id} has no active signing key")
    key = _parsed_private.get(row.kid)
    if key is None:
        key = serialization.load_pem_private_key(row.private_key_pem.encode(), password=None)
        with _parsed_lock:
            _parsed_private[row.kid] = key
    return row.kid, key


def public_key(conn: Connection, project_id: str, kid: str) -> Any | None:
    cached = _parsed_public.get(kid)
    if cached is not None:
        return cached[1] if cached[0] == project_id else None
    row = conn.execute(
        sa.select(signing_keys.c.public_jwk).where(signing_keys.c.project_id == project_id, signing_keys.c.kid == kid)
    ).first()
    if row is None:
        return None
    key = RSAAlgorithm.from_jwk(dict(row.public_jwk))
    with _parsed_lock:
        _parsed_public[kid] = (project_id, key)
    return key


def jwks(conn: Connection, project_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(signing_keys.c.public_jwk)
        .where(signing_keys.c.project_id == project_id)
        .order_by(signing_keys.c.created_at.desc())
    )
    return [dict(r.public_jwk) for r in rows]
