"""Email OTP codes against guessing and replay, on a real server (SQLite and PostgreSQL): at most
five counted attempts also under concurrent guesses, single use under concurrent right codes,
expiry, only the latest code valid, malformed codes not counted."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from otps.helpers import database, error_of, latest_code, move_into_the_past, otp_row, post, send_discovery_code

DISCOVERY_AUTH = "/v1/b2b/otps/email/discovery/authenticate"
ORG_AUTH = "/v1/b2b/otps/email/authenticate"


def concurrently(server: Any, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST every body at once: each from its own client, all released by one barrier."""
    barrier = threading.Barrier(len(bodies))
    results: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(bodies)

    def worker(i: int) -> None:
        with server.client(timeout=60) as client:
            barrier.wait()
            try:
                results[i] = client.post(path, json=bodies[i])
            except BaseException as exc:  # noqa: BLE001 - reported below
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    failed = [r for r in results if not isinstance(r, httpx.Response)]
    assert not failed, failed
    return [r for r in results if isinstance(r, httpx.Response)]


def wrong_codes(right: str, n: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < n:
        guess = f"{secrets.randbelow(10**6):06d}"
        if guess != right:
            codes.add(guess)
    return sorted(codes)


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json().get("error_type", "")) for r in responses)


def test_fifty_concurrent_wrong_codes_lock_the_code(server):
    email = f"brute-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email)
        guesses = [{"email_address": email, "code": c} for c in wrong_codes(right, 50)]
        results = outcomes(concurrently(server, DISCOVERY_AUTH, guesses))
        # Exactly five guesses were compared (wrong: 404); the other 45 were refused uncompared.
        assert results == {(404, "otp_code_not_found"): 5, (401, "unable_to_auth_otp_code"): 45}, results
        assert otp_row(server, email).attempts == 5
        # The right code now fails too, and is not even counted.
        resp = api.post(DISCOVERY_AUTH, json={"email_address": email, "code": right})
        assert error_of(resp) == (401, "unable_to_auth_otp_code")
        assert otp_row(server, email).attempts == 5
        # A new send starts a new code with fresh attempts.
        fresh = send_discovery_code(server, api, email)
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": fresh})["intermediate_session_token"]


def test_five_wrong_codes_then_the_right_one_fails(server):
    email = f"serial-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email)
        for guess in wrong_codes(right, 5):
            assert error_of(api.post(DISCOVERY_AUTH, json={"email_address": email, "code": guess})) == (
                404,
                "otp_code_not_found",
            )
        assert error_of(api.post(DISCOVERY_AUTH, json={"email_address": email, "code": right})) == (
            401,
            "unable_to_auth_otp_code",
        )


def test_four_wrong_codes_leave_the_right_one_usable(server):
    email = f"typos-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email)
        for guess in wrong_codes(right, 4):
            assert api.post(DISCOVERY_AUTH, json={"email_address": email, "code": guess}).status_code == 404
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": right})["email_address"] == email


def test_twenty_concurrent_right_codes_authenticate_once(server):
    email = f"race-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email)
    responses = concurrently(server, DISCOVERY_AUTH, [{"email_address": email, "code": right}] * 20)
    assert Counter(r.status_code for r in responses) == {200: 1, 401: 19}, outcomes(responses)
    with database(server.database_url) as conn:
        ists = conn.execute(
            sa.text("SELECT count(*) FROM intermediate_sessions WHERE email_address = :e"), {"e": email}
        ).scalar()
    assert ists == 1


def test_twenty_concurrent_right_codes_at_an_organization_make_one_session(server):
    slug = f"race-{secrets.token_hex(3)}"
    email = f"member@{slug}.example.com"
    with server.client() as api:
        org = post(
            api,
            "/v1/b2b/organizations",
            {
                "organization_name": "Race",
                "organization_slug": slug,
                "email_allowed_domains": [f"{slug}.example.com"],
                "email_jit_provisioning": "RESTRICTED",
            },
        )["organization"]
        post(
            api,
            "/v1/b2b/otps/email/login_or_signup",
            {"organization_id": org["organization_id"], "email_address": email},
        )
        right = latest_code(server, email)
    body = {"organization_id": org["organization_id"], "email_address": email, "code": right}
    responses = concurrently(server, ORG_AUTH, [body] * 20)
    assert Counter(r.status_code for r in responses) == {200: 1, 401: 19}, outcomes(responses)
    winner = next(r.json() for r in responses if r.status_code == 200)
    with database(server.database_url) as conn:
        sessions = conn.execute(
            sa.text("SELECT count(*) FROM member_sessions WHERE member_id = :m"), {"m": winner["member_id"]}
        ).scalar()
    assert sessions == 1


def test_an_expired_code_fails(server):
    email = f"late-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email, discovery_expiration_minutes=2)
        row = otp_row(server, email)
        assert row.expires_at - row.created_at == timedelta(minutes=2)
        # Two minutes pass (the server reads expiry from the row, never from the client).
        move_into_the_past(server, email, minutes=2)
        resp = api.post(DISCOVERY_AUTH, json={"email_address": email, "code": right})
        assert error_of(resp) == (401, "unable_to_auth_otp_code")
        assert otp_row(server, email).attempts == 0

        default = send_discovery_code(server, api, email)
        row = otp_row(server, email)
        assert row.expires_at - row.created_at == timedelta(minutes=10)
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": default})["intermediate_session_token"]


def test_only_the_latest_code_is_valid(server):
    email = f"twice-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        first = send_discovery_code(server, api, email)
        second = send_discovery_code(server, api, email)
        while second == first:  # one chance in a million
            second = send_discovery_code(server, api, email)
        assert error_of(api.post(DISCOVERY_AUTH, json={"email_address": email, "code": first})) == (
            404,
            "otp_code_not_found",
        )
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": second})["email_address"] == email


def test_malformed_codes_are_refused_uncounted(server):
    email = f"typo-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        right = send_discovery_code(server, api, email)
        for bad in ("12345", "1234567", "12a456", "", "١٢٣٤٥٦"):
            assert error_of(api.post(DISCOVERY_AUTH, json={"email_address": email, "code": bad})) == (
                400,
                "invalid_code",
            )
        assert error_of(api.post(DISCOVERY_AUTH, json={"email_address": email, "code": 123456})) == (
            400,
            "invalid_argument",
        )
        assert otp_row(server, email).attempts == 0
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": right})["email_address"] == email


def test_a_code_belongs_to_its_project(server):
    email = f"tenant-{secrets.token_hex(3)}@example.com"
    other_id, other_secret = server.create_project("otp-other")
    with server.client() as api, server.client(auth=(other_id, other_secret)) as other:
        right = send_discovery_code(server, api, email)
        assert error_of(other.post(DISCOVERY_AUTH, json={"email_address": email, "code": right})) == (
            404,
            "otp_code_not_found",
        )
        assert post(api, DISCOVERY_AUTH, {"email_address": email, "code": right})["email_address"] == email
