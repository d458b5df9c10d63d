"""Where mail goes: an SMTP server, or the dev mailbox (a Maildir beside the database)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import aiosmtplib

from tenantry.email.message import Envelope


class MailBackend(Protocol):
    async def deliver(self, envelope: Envelope) -> None: ...


class SmtpBackend:
    """``smtp://user:pass@host:port`` (STARTTLS when offered) or ``smtps://`` (implicit TLS)."""

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps"):
            raise ValueError("TENANTRY_SMTP_URL must start with smtp:// or smtps://")
        self.hostname = parsed.hostname or "localhost"
        self.use_tls = parsed.scheme == "smtps"
        self.port = parsed.port or (465 if self.use_tls else 25)
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.timeout = timeout

    async def deliver(self, envelope: Envelope) -> None:
        # Raw bytes, not a Message object: re-serialising would break the DKIM signature.
        await aiosmtplib.send(
            envelope.data,
            sender=envelope.mail_from,
            recipients=[envelope.recipient],
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=None if not self.use_tls else False,
            timeout=self.timeout,
        )


class DevMailbox:
    """A Maildir that the dev mailbox page reads. One file per Message-ID, written atomically,
    so redelivering a message after a crash replaces it instead of duplicating it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        for sub in ("tmp", "new", "cur"):
            (directory / sub).mkdir(parents=True, exist_ok=True)

    async def deliver(self, envelope: Envelope) -> None:
        # Written on the event loop: a few kilobytes into the page cache (no fsync) take less
        # than handing them to a worker thread and back did (a development backend).
        self._write(envelope)

    def _write(self, envelope: Envelope) -> None:
        name = hashlib.sha256(envelope.message_id.encode()).hexdigest()[:32]
        tmp = self.directory / "tmp" / name
        tmp.write_bytes(envelope.data)
        os.replace(tmp, self.directory / "new" / name)

    def messages(self, to: str | None = None) -> list[DevMessage]:
        found = []
        for path in (self.directory / "new").iterdir():
            try:
                parsed = BytesParser(policy=default_policy).parse(path.open("rb"))
            except OSError:
                continue  # replaced while we listed the directory
            recipients = [addr.lower() for _, addr in getaddresses([str(parsed.get("To", ""))])]
            if to and to.strip().lower() not in recipients:
                continue
            found.append(DevMessage.from_email(path.name, parsed, path.stat().st_mtime_ns))
        found.sort(key=lambda m: (m.created_at, m.order), reverse=True)
        return found


LINK_RE = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class DevMessage:
    id: str
    to: str
    subject: str
    text: str
    html: str
    links: list[str]
    created_at: datetime
    order: int

    @classmethod
    def from_email(cls, name: str, message: EmailMessage, order: int) -> DevMessage:
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        text = text_part.get_content() if text_part is not None else ""
        html = html_part.get_content() if html_part is not None else ""
        date = message.get("Date")
        created = parsedate_to_datetime(str(date)) if date else datetime.now(UTC)
        return cls(
            id=name,
            to=parseaddr(str(message.get("To", "")))[1],
            subject=str(message.get("Subject", "")),
            text=text,
            html=html,
            links=list(dict.fromkeys(LINK_RE.findall(text))),
            created_at=created,
            order=order,
        )
