"""Helpers of the email tests: an SMTP server that can refuse or hold mail, the DKIM key
``tenantry mail dns`` made, and a person following the link in a mail. (A module with its own
name, not a package: ``tests/email`` as a package would shadow the standard library's ``email``.)"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from aiosmtpd.controller import Controller

# The first test project's default redirect URL (as tests/conftest.py's REDIRECT_URL).
REDIRECT_URL = "http://localhost:3000/authenticate"
OUTBOX_PROJECT = "project-test-00000000-0000-4000-8000-000000000000"


def queue_mail(conn: Any, clock: Any, to: str) -> str:
    """One short mail put in the outbox in ``conn``'s transaction, as a request queues it."""
    from tenantry.email import outbox

    return outbox.queue(
        conn,
        clock,
        project_id=OUTBOX_PROJECT,
        to=to,
        subject="Your link",
        text="Open https://example.com/?token=abc",
        html="<p>Open it</p>",
        message_domain="tenantry.localhost",
    )


class RecordingRelay:
    """A mail backend that accepts every mail at once and notes its recipient."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, envelope: Any) -> None:
        self.sent.append(envelope.recipient)


@contextmanager
def statements_of(engine: Any, *watched: object) -> Iterator[list[object]]:
    """The watched statements (module-level ones, such as the outbox's) as ``engine`` executes them."""
    import sqlalchemy as sa

    seen: list[object] = []

    def note(_conn, _cursor, _statement, _parameters, context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if context.compiled is not None and context.compiled.statement in watched:
            seen.append(context.compiled.statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


class Sink:
    """An aiosmtpd handler that keeps what it accepts. While ``hold`` is set it keeps a DATA
    command waiting (``holding`` tells when one arrived) and then answers 451 without keeping it,
    like a relay that stalls and never accepts the mail."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, EmailMessage]] = []
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.held_for: list[str] = []  # the recipients of the DATA held last
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        if self.hold.is_set():
            self.held_for = list(envelope.rcpt_tos)
            self.holding.set()
            while self.hold.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 held by the test"
        raw = bytes(envelope.content)
        with self._lock:
            self.received.append((raw, message_from_bytes(raw, policy=default_policy)))  # type: ignore[arg-type]
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [message for _, message in self.received]

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[bytes, EmailMessage]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), the SMTP server received {len(self.received)}")

    def wait_for_mail_to(self, to: str, count: int = 1, timeout: float = 20) -> EmailMessage:
        """The newest of at least ``count`` messages to ``to``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [m for m in self.messages if str(m["To"]) == to]
            if len(mine) >= count:
                return mine[-1]
            time.sleep(0.05)
        raise AssertionError(f"no message {count} to {to}; received {[str(m['To']) for m in self.messages]}")

    def raw_of(self, message: EmailMessage) -> bytes:
        with self._lock:
            return next(raw for raw, parsed in self.received if parsed is message)


@dataclass
class SmtpServer:
    sink: Sink
    port: int
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantry", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd
    )


@dataclass(frozen=True)
class DkimKey:
    path: Path
    selector: str
    domain: str
    output: str  # what `tenantry mail dns` printed

    def txt(self, name: str) -> str:
        """The value of the printed TXT record for ``name`` (its quoted strings joined)."""
        for line in self.output.splitlines():
            if line.startswith(f"{name}. IN TXT "):
                return "".join(re.findall(r'"([^"]*)"', line))
        raise AssertionError(f"no TXT record for {name} in:\n{self.output}")

    @property
    def dkim_record(self) -> str:
        return self.txt(f"{self.selector}._domainkey.{self.domain}")

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes:
        """A resolver for dkim.verify that knows only the record ``mail dns`` printed."""
        if name.decode().rstrip(".") == f"{self.selector}._domainkey.{self.domain}":
            return self.dkim_record.encode()
        return b""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


def text_link(message: EmailMessage) -> str:
    """The first link of the plain-text part; the HTML part must carry the same link."""
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    link = next(word for line in text.splitlines() for word in line.split() if word.startswith("http"))
    assert f'href="{link.replace("&", "&amp;")}"' in html
    return link


def follow_link(link: str) -> str:
    """Do what a person does with the link in a mail and return the token the application gets:
    a link to the application carries it directly; a link to Tenantry's Continue page is opened
    and its Continue button pressed (a form POST, with the page's cookie)."""
    if link.startswith(REDIRECT_URL):
        return parse_qs(urlsplit(link).query)["token"][0]
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        form = _FormParser()
        form.feed(page.text)
        assert form.fields, f"no form on the page the link opened:\n{page.text}"
        forwarded = browser.post(urljoin(link, form.action or link), data=form.fields)
        assert forwarded.status_code in (302, 303), forwarded.text
        destination = forwarded.headers["location"]
    assert destination.startswith(REDIRECT_URL), destination
    return parse_qs(urlsplit(destination).query)["token"][0]
