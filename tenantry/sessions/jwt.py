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


def issuer(project_id: str) -> str:
    return f"stytch.com/{project_id}"


def mint(
    conn: Connection,
    session: MemberSession,
    *,
    roles: list[str],
    organization_slug: str,
    issued_at: int,
) -> str:
    kid, private_key = keys.active_signing_key(conn, session.project_id)
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
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


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
