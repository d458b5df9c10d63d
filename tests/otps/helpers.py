"""What the email OTP tests share: reading a code from the dev mailbox, plain-HTTP calls, and a
look at the database (attempt counters, expiry) that no API exposes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import sqlalchemy as sa

from tenantry.clock import as_utc
from tenantry.db.schema import email_otps

# A code stands alone on its line (OTP mails) or ends the "enter this code" line (magic-link mails).
CODE_RE = re.compile(r"(?m)(?:^|:[ \t]+)(\d{6})[ \t]*$")
REDIRECT_URL = "http://localhost:3000/authenticate"


def code_in(message: dict[str, Any]) -> str:
    found = set(CODE_RE.findall(message["text"]))
    assert len(found) == 1, f"expected one six-digit code in the mail, found {found}:\n{message['text']}"
    code = found.pop()
    assert code in message["html"], "the HTML part does not carry the code"
    return code


def latest_code(server: Any, email: str, count: int = 1) -> str:
    """The code in the newest mail to ``email``, once ``count`` mails have arrived."""
    return code_in(server.wait_for_mail(email, count=count)[0])


def post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = api.post(path, json=body)
    assert resp.status_code == 200, f"POST {path} {body} -> {resp.status_code} {resp.text}"
    return resp.json()


def send_discovery_code(server: Any, api: httpx.Client, email: str, **options: Any) -> str:
    already = len(server.mailbox(email))
    post(api, "/v1/b2b/otps/email/discovery/send", {"email_address": email, **options})
    return latest_code(server, email, count=already + 1)


def error_of(resp: httpx.Response) -> tuple[int, str]:
    body = resp.json()
    assert body["status_code"] == resp.status_code, body
    return resp.status_code, body["error_type"]


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


def otp_row(server: Any, email: str) -> SimpleNamespace:
    """The code row of ``email`` (the only one: the tests give every flow its own address)."""
    with database(server.database_url) as conn:
        row = conn.execute(sa.select(email_otps).where(email_otps.c.email_address == email)).one()
    fields = row._asdict()
    return SimpleNamespace(**{**fields, "created_at": as_utc(row.created_at), "expires_at": as_utc(row.expires_at)})


def move_into_the_past(server: Any, email: str, minutes: int) -> None:
    """Time passes for ``email``'s code: its creation and expiry move back by ``minutes``."""
    row = otp_row(server, email)
    with database(server.database_url) as conn:
        conn.execute(
            email_otps.update()
            .where(email_otps.c.email_address == email)
            .values(
                created_at=row.created_at - timedelta(minutes=minutes),
                expires_at=row.expires_at - timedelta(minutes=minutes),
            )
        )
