"""A crash between "queued" and "sent" loses nothing and sends nothing twice: the server is killed
with SIGKILL (no shutdown code runs) while the relay holds a mail mid-DATA, or while the relay
refuses connections, then restarted with the relay working. Every queued mail then arrives
exactly once, under the Message-ID it was given when it was queued."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from mailtest import SmtpServer, text_link

from tenantry.db.engine import create_engine

RECIPIENTS = ["ana@clinic-one.com", "ben@clinic-two.com", "cleo@clinic-three.com"]


def _outbox(database_url: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text("SELECT message_id, to_address, status, attempts, last_error, lease_until FROM outbox")
                )
            )
    finally:
        engine.dispose()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


def _send_discovery(server: Any, recipients: list[str]) -> None:
    with server.client() as api:
        for email in recipients:
            response = api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email})
            assert response.status_code == 200, response.text


def _assert_each_delivered_once(smtp: SmtpServer, database_url: str, recipients: list[str]) -> None:
    _wait(lambda: all(row.status == "sent" for row in _outbox(database_url)), "every mail is marked sent")
    time.sleep(1.5)  # room for a duplicate to show up, were there one
    rows = _outbox(database_url)
    received = smtp.sink.messages
    assert sorted(str(m["Message-ID"]) for m in received) == sorted(row.message_id for row in rows)
    assert sorted(str(m["To"]) for m in received) == sorted(recipients)


def test_killed_while_sending_then_restarted_delivers_each_mail_once(
    server_factory: Callable[..., Any], smtp_server: SmtpServer
) -> None:
    # A short lease, so the mail held when the server died is free again soon after the restart.
    env = {"TENANTRY_SMTP_URL": smtp_server.url, "TENANTRY_MAIL_LEASE_SECONDS": "4"}
    smtp_server.sink.hold.set()
    first = server_factory(env=env)
    _send_discovery(first, RECIPIENTS)
    assert smtp_server.sink.holding.wait(20), "the server never started sending"
    before = _outbox(first.database_url)
    assert len(before) == 3 and {row.status for row in before} == {"queued"}
    # The mail in flight was claimed once; the others were not tried (claimed in its batch, if
    # they were queued before the claim, else not at all).
    [held] = [row for row in before if row.to_address in smtp_server.sink.held_for]
    assert held.attempts == 1
    assert all(row.attempts <= 1 for row in before)

    first.kill()
    smtp_server.sink.hold.clear()
    assert smtp_server.sink.messages == []

    restarted = server_factory(env=env)
    _assert_each_delivered_once(smtp_server, restarted.database_url, RECIPIENTS)

    # The mail that was in flight when the server died still carries a link that works.
    mail = next(m for m in smtp_server.sink.messages if str(m["Message-ID"]) == held.message_id)
    token = parse_qs(urlsplit(text_link(mail)).query)["token"][0]
    with restarted.client() as api:
        response = api.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token})
    assert response.status_code == 200, response.text


def test_killed_in_the_middle_of_a_batch_then_restarted_delivers_each_mail_once(
    server_factory: Callable[..., Any], smtp_server: SmtpServer
) -> None:
    env = {"TENANTRY_SMTP_URL": smtp_server.url, "TENANTRY_MAIL_LEASE_SECONDS": "4"}
    smtp_server.sink.hold.set()
    first = server_factory(env=env)
    _send_discovery(first, RECIPIENTS[:1])
    assert smtp_server.sink.holding.wait(20), "the server never started sending"
    _send_discovery(first, RECIPIENTS[1:])  # queued behind the held send
    first.kill()

    # The next server claims what is due at once, as one batch under one lease, and is killed
    # while the relay holds the batch's first mail: the others were leased but never tried.
    smtp_server.sink.holding.clear()
    second = server_factory(env=env)
    assert smtp_server.sink.holding.wait(20), "the second server never started sending"
    rows = _outbox(second.database_url)
    second.kill()
    leases = Counter(row.lease_until for row in rows if row.lease_until is not None)
    lease, size = leases.most_common(1)[0]
    assert size >= 2, f"no batch was leased: {rows}"
    untried = [row for row in rows if row.lease_until == lease and row.to_address not in smtp_server.sink.held_for]
    assert untried and all(row.attempts >= 1 for row in untried)
    smtp_server.sink.hold.clear()
    assert smtp_server.sink.messages == []

    restarted = server_factory(env=env)
    _assert_each_delivered_once(smtp_server, restarted.database_url, RECIPIENTS)


def test_killed_while_the_relay_refuses_then_restarted_delivers_each_mail_once(
    server_factory: Callable[..., Any], smtp_port_closed: SmtpServer
) -> None:
    env = {"TENANTRY_SMTP_URL": smtp_port_closed.url}
    first = server_factory(env=env)
    _send_discovery(first, RECIPIENTS[:2])
    _wait(
        lambda: all(row.attempts >= 1 and row.last_error for row in _outbox(first.database_url)),
        "both mails were tried and refused",
    )
    first.kill()
    rows = _outbox(first.database_url)
    assert {row.status for row in rows} == {"queued"}
    assert all("refused" in row.last_error.lower() or "connect" in row.last_error.lower() for row in rows)

    smtp_port_closed.start()
    restarted = server_factory(env=env)
    _assert_each_delivered_once(smtp_port_closed, restarted.database_url, RECIPIENTS[:2])
