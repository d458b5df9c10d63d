"""The send endpoints' rate limits, end to end against real servers: per recipient, per client
address and per project, 429 ``too_many_requests`` with ``Retry-After``, shared by every process,
and the same answer whether or not an email belongs to a member.

Each test runs with the counters in SQLite, in PostgreSQL and in Redis (``lanes.LANES``); the
servers get small limits through the environment so no test waits more than two seconds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from stytch.core.response_base import StytchError

from ratelimit.lanes import LANES
from tenantry.db.engine import normalise_url

DISCOVERY_SEND = "/v1/b2b/magic_links/email/discovery/send"
LOGIN_OR_SIGNUP = "/v1/b2b/magic_links/email/login_or_signup"
INVITE = "/v1/b2b/magic_links/email/invite"
OTP_DISCOVERY_SEND = "/v1/b2b/otps/email/discovery/send"
OTP_LOGIN_OR_SIGNUP = "/v1/b2b/otps/email/login_or_signup"
SMS_SEND = "/v1/b2b/otps/sms/send"
TOO_MANY = {
    "status_code": 429,
    "error_type": "too_many_requests",
    "error_message": "Too many requests have been made.",
    "error_url": "https://stytch.com/docs/api/errors/429#too_many_requests",
}


def start(server_factory: Callable[..., Any], counters: dict[str, str], **limits: str) -> Any:
    """A server whose limits are the defaults except ``limits`` (email="3/60s", ip="off", ...)."""
    env = {**counters, **{f"TENANTRY_RATE_LIMIT_{scope.upper()}": rule for scope, rule in limits.items()}}
    return server_factory(env=env)


def discovery_send(client: httpx.Client, email: str, **kwargs: Any) -> httpx.Response:
    return client.post(DISCOVERY_SEND, json={"email_address": email}, **kwargs)


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def assert_too_many(response: httpx.Response, window_seconds: int) -> int:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body == {**TOO_MANY, "request_id": body["request_id"]}
    assert body["request_id"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window_seconds
    return retry_after


def new_org(client: httpx.Client, slug: str) -> str:
    resp = client.post(
        "/v1/b2b/organizations",
        json={
            "organization_name": slug.title(),
            "organization_slug": slug,
            "email_allowed_domains": ["clinic.com"],
            "email_jit_provisioning": "RESTRICTED",
            "email_invites": "ALL_ALLOWED",
        },
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["organization"]["organization_id"])


def counter_values(database_url: str, counters: dict[str, str], scope: str) -> list[int]:
    """The stored counts of one scope, read where the server keeps them."""
    if "TENANTRY_REDIS_URL" in counters:
        client = redis.Redis.from_url(counters["TENANTRY_REDIS_URL"])
        return [int(client.get(key) or 0) for key in client.scan_iter(f"tenantry:ratelimit:{scope}:*")]
    engine = sa.create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT hits FROM rate_limit_counters WHERE scope = :s"), {"s": scope})
            return [row.hits for row in rows]
    finally:
        engine.dispose()


def stored_keys(database_url: str, counters: dict[str, str]) -> list[str]:
    if "TENANTRY_REDIS_URL" in counters:
        client = redis.Redis.from_url(counters["TENANTRY_REDIS_URL"])
        return [key.decode() for key in client.scan_iter("*")]
    engine = sa.create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT scope, key_digest FROM rate_limit_counters"))
            return [f"{row.scope}:{row.key_digest}" for row in rows]
    finally:
        engine.dispose()


@LANES
def test_per_email_limit_answers_known_and_unknown_emails_alike(
    server_factory: Callable[..., Any], counters: dict[str, str], stytch_client_factory: Callable[..., Any]
) -> None:
    server = start(server_factory, counters, email="3/60s")
    with server.client() as client:
        org_id = new_org(client, "known-clinic")
        member = client.post(f"/v1/b2b/organizations/{org_id}/members", json={"email_address": "known@clinic.com"})
        assert member.status_code == 200, member.text

        answers = {
            email: [discovery_send(client, email) for _ in range(4)]
            for email in ("known@clinic.com", "nobody@clinic.com")
        }
        # Another recipient still gets through: the limit is per email.
        assert discovery_send(client, "other@clinic.com").status_code == 200

    known, unknown = answers["known@clinic.com"], answers["nobody@clinic.com"]
    assert statuses(known) == statuses(unknown) == [200, 200, 200, 429]
    for sent_known, sent_unknown in zip(known, unknown, strict=True):
        body_known, body_unknown = sent_known.json(), sent_unknown.json()
        body_known.pop("request_id"), body_unknown.pop("request_id")
        assert body_known == body_unknown
        assert sorted(sent_known.headers) == sorted(sent_unknown.headers)
    assert_too_many(known[-1], 60)
    assert_too_many(unknown[-1], 60)
    # Only three mails went out to each address.
    assert len(server.wait_for_mail("nobody@clinic.com", count=3)) == 3
    # Each refusal is logged as an event a metrics exporter can count, without the address.
    log = server.log_path.read_text()
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert [e["scope"] for e in events if e.get("event") == "rate_limited"] == ["email", "email"], log
    assert "nobody@clinic.com" not in log

    # The official SDK surfaces it as Stytch's error.
    with pytest.raises(StytchError) as caught:
        stytch_client_factory(server).magic_links.email.discovery.send(email_address="Nobody@Clinic.com ")
    assert (caught.value.details.status_code, caught.value.details.error_type) == (429, "too_many_requests")


@LANES
def test_every_send_route_counts_against_the_same_recipient(
    server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = start(server_factory, counters, email="5/60s")
    email = "staff@clinic.com"
    with server.client() as client:
        org_id = new_org(client, "staff-clinic")
        calls: dict[str, Callable[[], httpx.Response]] = {
            "invite": lambda: client.post(INVITE, json={"organization_id": org_id, "email_address": email}),
            "login_or_signup": lambda: client.post(
                LOGIN_OR_SIGNUP, json={"organization_id": org_id, "email_address": email}
            ),
            "discovery_send": lambda: discovery_send(client, email),
            "otp_discovery_send": lambda: client.post(OTP_DISCOVERY_SEND, json={"email_address": email}),
            "otp_login_or_signup": lambda: client.post(
                OTP_LOGIN_OR_SIGNUP, json={"organization_id": org_id, "email_address": email}
            ),
        }
        first = {name: call() for name, call in calls.items()}
        again = {name: call() for name, call in calls.items()}
    assert {name: r.status_code for name, r in first.items()} == dict.fromkeys(calls, 200), [
        r.text for r in first.values()
    ]
    for response in again.values():
        assert_too_many(response, 60)


@LANES
def test_per_ip_limit_spans_emails_and_ignores_forwarded_for_from_untrusted_peers(
    server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = start(server_factory, counters, ip="4/60s")
    with server.client() as client:
        # Each request claims another client address; the peer (127.0.0.1) is no trusted proxy.
        responses = [
            discovery_send(client, f"person{i}@clinic.com", headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(5)
        ]
    assert statuses(responses) == [200, 200, 200, 200, 429]
    assert_too_many(responses[-1], 60)


@LANES
def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
    server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = server_factory(
        env={**counters, "TENANTRY_RATE_LIMIT_IP": "2/60s", "TENANTRY_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"}
    )

    def from_client(client: httpx.Client, forwarded_for: str | None, n: int) -> httpx.Response:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return discovery_send(client, f"p{n}@clinic.com", headers=headers)

    with server.client() as client:
        first = [from_client(client, "203.0.113.7", n) for n in range(2)]
        # A forged address on the left, our proxy (10.1.2.3) on the right: the client is the
        # address our trusted hops saw, 203.0.113.7, and it is out of sends.
        forged = from_client(client, "198.51.100.1, 203.0.113.7, 10.1.2.3", 2)
        other = from_client(client, "203.0.113.8", 3)
        # Without the header the peer itself is the client.
        direct = from_client(client, None, 4)
    assert statuses(first) == [200, 200]
    assert_too_many(forged, 60)
    assert other.status_code == 200, other.text
    assert direct.status_code == 200, direct.text


@LANES
def test_per_project_limit_and_projects_do_not_share(
    server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = start(server_factory, counters, ip="off", project="5/60s")
    with server.client() as client:
        responses = [discovery_send(client, f"person{i}@clinic.com") for i in range(6)]
    assert statuses(responses) == [200] * 5 + [429]
    assert_too_many(responses[-1], 60)

    other_id, other_secret = server.create_project("Other clinic")
    with server.client(auth=(other_id, other_secret)) as other:
        # Same recipient, same address, another project: its own counters.
        assert discovery_send(other, "person0@clinic.com").status_code == 200


@LANES
def test_two_servers_on_one_database_share_the_limit(
    server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    first = start(server_factory, counters, email="4/60s")
    second = start(server_factory, counters, email="4/60s")
    with first.client() as one, second.client() as two:
        responses = [discovery_send(client, "shared@clinic.com") for client in (one, two, one, two, one, two)]
    assert statuses(responses) == [200, 200, 200, 200, 429, 429]


@LANES
def test_the_limit_resets_when_its_window_ends(server_factory: Callable[..., Any], counters: dict[str, str]) -> None:
    server = start(server_factory, counters, email="2/2s")
    with server.client() as client:
        responses = [discovery_send(client, "patient@clinic.com") for _ in range(3)]
        assert statuses(responses) == [200, 200, 429]
        retry_after = assert_too_many(responses[-1], 2)
        time.sleep(retry_after)
        assert discovery_send(client, "patient@clinic.com").status_code == 200


@LANES
def test_what_counts_and_that_counts_survive_refusals(
    database_url: str, server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = start(server_factory, counters, email="3/60s")
    email = "counted@clinic.com"
    with server.client() as client:
        # Not counted: wrong credentials (nobody can spend a project's quota without its
        # secret) and bodies that do not parse (refused before anything is counted).
        with server.client(auth=(server.project_id, "secret-test-wrong")) as stranger:
            assert {discovery_send(stranger, email).status_code for _ in range(4)} == {401}
        assert {client.post(DISCOVERY_SEND, json={"email": email}).status_code for _ in range(4)} == {400}
        # Counted: a request the handler refuses. Its transaction rolls back; the count does not.
        lost = [
            client.post(LOGIN_OR_SIGNUP, json={"organization_id": "organization-test-nope", "email_address": email})
            for _ in range(2)
        ]
        assert statuses(lost) == [404, 404]
        assert discovery_send(client, email).status_code == 200
        refused = [discovery_send(client, email) for _ in range(2)]
    for response in refused:
        assert_too_many(response, 60)
    # Every counted request, the refused ones included, is in the stored counter.
    assert counter_values(database_url, counters, "email") == [5]


@LANES
def test_counters_never_store_the_email_or_address(
    database_url: str, server_factory: Callable[..., Any], counters: dict[str, str]
) -> None:
    server = start(server_factory, counters)
    with server.client() as client:
        assert discovery_send(client, "private.person@clinic.com").status_code == 200
    keys = stored_keys(database_url, counters)
    assert sorted(key.split(":")[-2] for key in keys) == ["email", "ip", "project"]
    for key in keys:
        assert re.fullmatch(r"[a-f0-9]{64}", key.split(":")[-1]), key
        assert "private" not in key and "127.0.0.1" not in key and server.project_id not in key


@LANES
def test_sms_sends_are_limited_per_phone_number(server_factory: Callable[..., Any], counters: dict[str, str]) -> None:
    server = start(server_factory, counters, phone="2/60s")
    with server.client() as client:
        org_id = new_org(client, "sms-clinic")
        members = []
        for email in ("first@clinic.com", "second@clinic.com"):
            created = client.post(f"/v1/b2b/organizations/{org_id}/members", json={"email_address": email})
            assert created.status_code == 200, created.text
            members.append(created.json()["member_id"])

        def sms(member_id: str, number: str) -> httpx.Response:
            body = {"organization_id": org_id, "member_id": member_id, "mfa_phone_number": number}
            return client.post(SMS_SEND, json=body)

        # One number, written two ways.
        first = [sms(members[0], "+14155550100"), sms(members[0], "+1 415-555-0100")]
        # Another member cannot be used to text that number again.
        again = sms(members[1], "+14155550100")
        other = sms(members[1], "+14155550199")
    assert statuses(first) == [200, 200], [r.text for r in first]
    assert_too_many(again, 60)
    assert other.status_code == 200, other.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_limits_can_be_switched_off(server_factory: Callable[..., Any]) -> None:
    server = server_factory(env={"TENANTRY_RATE_LIMITS_ENABLED": "false", "TENANTRY_RATE_LIMIT_EMAIL": "1/60s"})
    with server.client() as client:
        assert statuses([discovery_send(client, "bench@clinic.com") for _ in range(3)]) == [200, 200, 200]
