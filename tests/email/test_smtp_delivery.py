"""Mail leaves through a real SMTP server (aiosmtpd) when TENANTRY_SMTP_URL is set, with a text
and an HTML part, a stable Message-ID and a working link; the outbox row is then marked sent
and its body erased."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tenantry.db.engine import create_engine


def test_discovery_mail_is_delivered_over_smtp(
    server_factory: Callable[..., Any], smtp_server: Any, follow: Callable[[str], str]
) -> None:
    server = server_factory(env={"TENANTRY_SMTP_URL": smtp_server.url})
    response = server.client().post(
        "/v1/b2b/magic_links/email/discovery/send", json={"email_address": "contact@clinic.com"}
    )
    assert response.status_code == 200, response.text

    message = smtp_server.sink.wait_for_mail_to("contact@clinic.com")
    assert len(smtp_server.sink.messages) == 1
    assert message["From"] == "Tenantry <no-reply@tenantry.localhost>"
    assert message["Message-ID"].endswith("@tenantry.localhost>")
    assert message.get_body(preferencelist=("plain",)) is not None
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Sign in" in html
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = next(line for line in text.splitlines() if line.startswith("http"))

    token = follow(link)
    authenticated = server.client().post(
        "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}
    )
    assert authenticated.status_code == 200, authenticated.text

    # No dev mailbox when SMTP is configured.
    assert server.client().get("/dev/mailbox/api/messages").status_code == 404
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT status, attempts, text_body, html_body, message_id FROM outbox")).one()
    finally:
        engine.dispose()
    assert tuple(row)[:4] == ("sent", 1, None, None)
    assert row.message_id == message["Message-ID"]
