"""What the MFA tests share: logging in by discovery magic link, TOTP codes computed with pyotp
the way an authenticator app does, waiting clear of a time-step boundary, and a look at the
database that no API exposes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import pyotp
import sqlalchemy as sa
import stytch

REDIRECT_URL = "http://localhost:3000/authenticate"
STEP = 30
SECOND_FACTOR_TYPES = {"totp", "otp", "recovery_codes"}


def discovery_login(server: Any, client: stytch.B2BClient, email: str) -> Any:
    """Send a discovery link, read it from the dev mailbox, authenticate it."""
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token)


def settle(margin: float = 4.0) -> None:
    """Wait until the current 30-second step has at least ``margin`` seconds left, so a code
    computed now is still the server's "current" one when it arrives."""
    left = STEP - time.time() % STEP
    if left < margin:
        time.sleep(left + 0.2)


def code_at(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * STEP)


def wait_for_next_step() -> None:
    time.sleep(STEP - time.time() % STEP + 0.3)


def factor_types(factors: list[Any]) -> set[str]:
    return {f["type"] if isinstance(f, dict) else f.type for f in factors}


def jwt_factor_types(session_jwt: str) -> set[str]:
    """The factor types in the JWT's session claim (signature checked elsewhere by the SDK)."""
    claims = jwt.decode(session_jwt, options={"verify_signature": False})
    return factor_types(claims["https://stytch.com/session"]["authentication_factors"])


def png_of(data_url: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix), data_url[:40]
    png = base64.b64decode(data_url[len(prefix) :], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return png


def post(api: httpx.Client, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    resp = api.post(path, json=body)
    assert resp.status_code == status, f"POST {path} -> {resp.status_code} {resp.text}"
    return resp.json()


@contextmanager
def database(url: str) -> Iterator[sa.Connection]:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def sessions_of_organization(server: Any, organization_id: str) -> list[list[dict[str, Any]]]:
    """The authentication factors of every member session ever issued in the organization."""
    with database(server.database_url) as conn:
        rows = conn.execute(
            sa.text("SELECT authentication_factors FROM member_sessions WHERE organization_id = :o"),
            {"o": organization_id},
        ).scalars()
        return [f if isinstance(f, list) else json.loads(f) for f in rows]
