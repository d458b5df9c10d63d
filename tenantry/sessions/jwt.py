"""Session JWTs in the exact shape the Stytch SDKs verify locally."""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy.engine import Connection

from tenantry.clock import rfc3339
from tenantry.sessions import keys
from tenantry.sessions.models import MemberSession

JWT_LIFETIME_SECONDS = 300
SESSION_CLAIM = "https://stytch.com/session"
ORGANIZATION_CLAIM = "https://stytch.com/organization"
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})
# An RS256 signature costs about 0.5 ms of CPU (some 2k/s per core), a large share of a
# sessions.authenticate. A JWT this process minted for the same session, with the same key and the same claims
# apart from the times, at most this many seconds ago, is answered again instead of signing a
# new one. The price: an answered JWT's iat/nbf (and its session claim's last_accessed_at) may be
# up to this old, so it has at least 270 of its 300 s left. Revocation is unaffected: the session
# is looked up in the database before any JWT is answered.
REUSE_SECONDS = 30
_REUSE_MAX_ENTRIES = 100_000
# session id -> (what the JWT says apart from its times, issued_at, the JWT)
_recent: dict[str, tuple[tuple[Any, ...], int, str]] = {}


def issuer(project_id: str) -> str:
    return f"stytch.com/{project_id}"


def mint(
    conn: Connection,
    session: MemberSession,
    *,
    roles: list[str],
    organization_slug: str,
    issued_at: int,
    kid: str | None = None,
) -> str:
    """``kid``: the project's active signing key, when the caller already read which it is
    (``keys.ACTIVE_KID`` in its own statement)."""
    if kid is None:
        kid, private_key = keys.active_signing_key(conn, session.project_id)
    else:
        private_key = keys.private_key(conn, kid)
    # Compared by value; repr, not ==, for the JSON parts, which would take 1 and true for equal.
    fingerprint = (
        kid,
        session.member_id,
        session.organization_id,
        organization_slug,
        roles,
        repr(session.custom_claims),
        repr(session.authentication_factors),
        session.started_at,
        session.expires_at,
    )
    recent = _recent.get(session.member_session_id)
    if recent is not None and recent[0] == fingerprint and 0 <= issued_at - recent[1] <= REUSE_SECONDS:
        return recent[2]
    claims: dict[str, Any] = dict(session.custom_claims)
    claims.update(
        {
            "sub": session.member_id,
            "aud": [session.project_id],
            "iss": issuer(session.project_id),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + JWT_LIFETIME_SECONDS,
            SESSION_CLAIM: {
                "id": session.member_session_id,
                "started_at": rfc3339(session.started_at),
                "last_accessed_at": rfc3339(session.last_accessed_at),
                "expires_at": rfc3339(session.expires_at),
                "attributes": {"user_agent": "", "ip_address": ""},
                "authentication_factors": session.authentication_factors,
                "roles": roles,
            },
            ORGANIZATION_CLAIM: {"organization_id": session.organization_id, "slug": organization_slug},
        }
    )
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
    _remember(session.member_session_id, fingerprint, issued_at, token)
    return token


def _remember(session_id: str, fingerprint: tuple[Any, ...], issued_at: int, token: str) -> None:
    if len(_recent) >= _REUSE_MAX_ENTRIES:
        # Forget what can no longer be reused; if everything is fresh, start over.
        for key, (_, at, _) in list(_recent.items()):
            if issued_at - at > REUSE_SECONDS:
                _recent.pop(key, None)
        if len(_recent) >= _REUSE_MAX_ENTRIES:
            _recent.clear()
    _recent[session_id] = (fingerprint, issued_at, token)


def session_id_from(conn: Connection, project_id: str, token: str) -> str | None:
    """The session id a validly signed JWT of this project names, or None.

    Expiry is deliberately not checked: Stytch accepts an expired JWT whose session is still
    alive and answers with a fresh one (the SDKs rely on this fallback).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        return None
    public_key = keys.public_key(conn, project_id, kid)
    if public_key is None:
        return None
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=project_id,
            issuer=issuer(project_id),
            options={"verify_exp": False, "require": ["sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.InvalidTokenError:
        return None
    session = claims.get(SESSION_CLAIM)
    if not isinstance(session, dict) or not isinstance(session.get("id"), str):
        return None
    return session["id"]
