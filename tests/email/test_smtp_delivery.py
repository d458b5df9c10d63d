"""Mail leaves through a real SMTP server (aiosmtpd) when TENANTRY_SMTP_URL is set, with a text
and an HTML part, a stable Message-ID and a working link; the outbox row is then marked sent
and its body erased."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenantry.db.engine import create_engine


class Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def test_discovery_mail_is_delivered_over_smtp(server_factory: Callable[..., Any], smtp_sink: tuple[Sink, int]) -> None:
    sink, port = smtp_sink
    server = server_factory(env={"TENANTRY_SMTP_URL": f"smtp://127.0.0.1:{port}"})
    response = server.client().post(
        "/v1/b2b/magic_links/email/discovery/send", json={"email_address": "contact@clinic.com"}
    )
    assert response.status_code == 200, response.text

    deadline = time.monotonic() + 15
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    (message,) = sink.messages
    assert message["To"] == "contact@clinic.com"
    assert message["Message-ID"].endswith("@tenantry.localhost>")
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    link = next(line for line in text.splitlines() if line.startswith("http"))
    assert link.startswith("http://localhost:3000/authenticate?stytch_token_type=discovery&token=")
    assert "Sign in" in html

    token = parse_qs(urlsplit(link).query)["token"][0]
    authenticated = server.client().post(
        "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}
    )
    assert authenticated.status_code == 200, authenticated.text

    # No dev mailbox when SMTP is configured.
    assert server.client().get("/dev/mailbox/api/messages").status_code == 404
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT status, attempts, text_body, html_body FROM outbox")).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("sent", 1, None, None)
