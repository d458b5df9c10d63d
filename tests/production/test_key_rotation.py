"""`tenantry keys rotate`: new JWTs carry the new kid at once; JWTs signed before the rotation
keep verifying (locally with the official SDK, and on the server) until they expired; then the
old key leaves the JWKS and the server."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa
from prod_flow import sign_up

from tenantry.db.engine import normalise_url
from tenantry.db.schema import signing_keys
from tenantry.sessions import keys


def cli(server, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "tenantry", "keys", *args, "--database-url", server.database_url],
        capture_output=True,
        text=True,
        env=server.env(),
        cwd=server.workdir,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def jwks_kids(server) -> list[str]:
    resp = httpx.get(f"{server.base_url}/v1/b2b/sessions/jwks/{server.project_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return [k["kid"] for k in resp.json()["keys"]]


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_rotation_keeps_old_jwts_valid_until_they_expire(server_factory, stytch_client_factory):
    server = server_factory()
    with server.client() as api:
        flow = sign_up(server, api)
    old_jwt = flow.session_jwt
    old_kid = kid_of(old_jwt)
    assert jwks_kids(server) == [old_kid]
    before = stytch_client_factory(server)  # its JWKS cache knows the old key only
    assert before.sessions.authenticate_jwt_local(session_jwt=old_jwt) is not None

    out = cli(server, "rotate", "--project", server.project_id, "--activate-in", "0")
    new_kid = out.split("current ")[1].split()[0]
    assert new_kid != old_kid and old_kid in out
    assert jwks_kids(server) == [new_kid, old_kid], "the JWKS must serve both keys, newest first"

    # New JWTs carry the new kid, from the very next call, whichever worker answers.
    refreshed = before.sessions.authenticate(session_token=flow.session_token)
    assert kid_of(refreshed.session_jwt) == new_kid
    # The old JWT still verifies locally with the JWKS cached before the rotation, and with a
    # fresh client; the new one with a fresh client. (A client that fetched the JWKS less than
    # 30 s ago refuses to refetch for an unknown kid: PyJWKClient's cooldown, client-side.)
    after = stytch_client_factory(server)
    for client, token in ((before, old_jwt), (after, old_jwt), (after, refreshed.session_jwt)):
        session = client.sessions.authenticate_jwt_local(session_jwt=token)
        assert session is not None and session.member_id == flow.member_id
    # The server accepts the old JWT as well.
    assert after.sessions.authenticate(session_jwt=old_jwt).member.member_id == flow.member_id

    # Time passes (the database is told the rotation happened longer ago than any JWT lives).
    engine = sa.create_engine(normalise_url(server.database_url))
    with engine.begin() as conn:
        long_ago = datetime.now(UTC) - keys.RETIRED_KEY_SERVED - timedelta(seconds=1)
        conn.execute(signing_keys.update().where(signing_keys.c.kid == old_kid).values(retired_at=long_ago))
    engine.dispose()
    assert jwks_kids(server) == [new_kid]
    late = stytch_client_factory(server)
    with pytest.raises(jwt.PyJWKClientError):  # the SDK's word for "no key with that kid"
        late.sessions.authenticate_jwt_local(session_jwt=old_jwt)
    assert late.sessions.authenticate_jwt_local(session_jwt=refreshed.session_jwt) is not None
    # A worker that never cached the old key (this one starts now) refuses it outright.
    fresh = server_factory()
    with fresh.client() as api:
        refused = api.post("/v1/b2b/sessions/authenticate", json={"session_jwt": old_jwt})
        assert refused.status_code != 200, refused.text
        assert api.post("/v1/b2b/sessions/authenticate", json={"session_jwt": refreshed.session_jwt}).status_code == 200

    # The next rotation deletes the expired key's private half.
    second = cli(server, "rotate", "--activate-in", "0")
    assert new_kid in second
    listed = cli(server, "list", "--project", server.project_id)
    assert old_kid not in listed and new_kid in listed and "current" in listed


def test_served_window_outlasts_the_jwt_lifetime():
    from tenantry.sessions.jwt import JWT_LIFETIME_SECONDS

    assert keys.RETIRED_KEY_SERVED.total_seconds() >= JWT_LIFETIME_SECONDS + 30
    # A worker that cached a key just before its rotation learns of it before it must refuse it.
    assert keys.RECHECK_SECONDS < keys.RETIRED_KEY_SERVED.total_seconds()


def test_rotate_refuses_an_unknown_project(server):
    proc = subprocess.run(
        [sys.executable, "-m", "tenantry", "keys", "rotate", "--project", "project-test-nope"]
        + ["--database-url", server.database_url],
        capture_output=True,
        text=True,
        env=server.env(),
        cwd=server.workdir,
        timeout=60,
    )
    assert proc.returncode == 1 and "No project" in proc.stderr
    assert len(jwks_kids(server)) == 1


def test_a_key_announced_ahead_is_in_the_jwks_before_it_signs(server, stytch_client_factory):
    with server.client() as api:
        flow = sign_up(server, api)
    old_kid = kid_of(flow.session_jwt)
    out = cli(server, "rotate", "--activate-in", "3")
    new_kid = out.split("current ")[1].split()[0]
    assert jwks_kids(server) == [new_kid, old_kid]
    client = stytch_client_factory(server)
    # Its first local check fetches (and caches) a JWKS that already holds the next key.
    assert client.sessions.authenticate_jwt_local(session_jwt=flow.session_jwt) is not None
    assert kid_of(client.sessions.authenticate(session_token=flow.session_token).session_jwt) == old_kid
    deadline = time.monotonic() + 15
    kid = old_kid
    while kid == old_kid and time.monotonic() < deadline:
        time.sleep(0.5)
        kid = kid_of(client.sessions.authenticate(session_token=flow.session_token).session_jwt)
    assert kid == new_kid
    token = client.sessions.authenticate(session_token=flow.session_token).session_jwt
    # Within PyJWKClient's 30 s refetch cooldown: this verifies only because the key was in the
    # JWKS the client cached before the switch.
    assert client.sessions.authenticate_jwt_local(session_jwt=token) is not None
