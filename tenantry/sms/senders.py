"""Where text messages go: a Twilio-compatible HTTP API, or the dev SMS outbox (a directory of
JSON files beside the database that the dev pages read)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from anyio import to_thread

from tenantry.sms.settings import SmsSettings


@dataclass(frozen=True)
class SmsMessage:
    # The outbox row's id: stable across retries, so a redelivery is recognisably the same text.
    id: str
    to: str
    body: str
    created_at: datetime


class SmsSendError(Exception):
    """A failed send. ``permanent`` when the provider refused the message itself (bad number,
    bad sender): retrying would be refused the same way."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> str | None:
        """Hand the message over; returns the provider's message id when it gives one."""
        ...

    async def close(self) -> None: ...


class TwilioCompatibleSender:
    """POSTs ``To``/``From``/``Body`` as a form with HTTP Basic auth, as Twilio's Messages API
    expects (``…/2010-04-01/Accounts/{AccountSid}/Messages.json``, AccountSid:AuthToken). A sender
    starting with ``MG`` is a Messaging Service and goes as ``MessagingServiceSid``."""

    def __init__(self, settings: SmsSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.url or not settings.sender:
            raise ValueError("TwilioCompatibleSender needs TENANTRY_SMS_URL and TENANTRY_SMS_FROM")
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("TENANTRY_SMS_URL must be an http:// or https:// URL")
        username = settings.username or (unquote(parts.username) if parts.username else None)
        password = (
            settings.password.get_secret_value()
            if settings.password
            else (unquote(parts.password) if parts.password else None)
        )
        # Credentials travel in the Authorization header, never in the URL that errors may quote.
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        if "{sid}" in url:
            if not username:
                raise ValueError("TENANTRY_SMS_URL contains {sid} but no username (account SID) is configured")
            url = url.replace("{sid}", username)
        self.url = url
        self.sender = settings.sender
        auth = httpx.BasicAuth(username, password or "") if username else None
        self._client = httpx.AsyncClient(auth=auth, timeout=settings.timeout_seconds, transport=transport)

    def _form(self, message: SmsMessage) -> dict[str, str]:
        sender_field = "MessagingServiceSid" if re.fullmatch(r"MG[0-9a-fA-F]{32}", self.sender) else "From"
        return {"To": message.to, sender_field: self.sender, "Body": message.body}

    async def send(self, message: SmsMessage) -> str | None:
        try:
            response = await self._client.post(self.url, data=self._form(message))
        except httpx.HTTPError as exc:
            # Connection refused, timeout, TLS failure: the provider may be back in a moment.
            raise SmsSendError(f"{type(exc).__name__} talking to the SMS provider", permanent=False) from None
        if response.is_success:
            sid = _json(response).get("sid")
            return sid if isinstance(sid, str) else None
        detail = _provider_error(response)
        # 429 and 5xx are the provider's trouble, not the message's; other 4xx refuse the message.
        retryable = response.status_code == 429 or response.status_code >= 500
        raise SmsSendError(f"SMS provider answered {response.status_code}{detail}", permanent=not retryable)

    async def close(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _provider_error(response: httpx.Response) -> str:
    """Twilio's ``code`` and ``message``, which name the problem (21211: invalid To) without
    echoing the message body."""
    body = _json(response)
    parts = [str(body[k]) for k in ("code", "message") if body.get(k) is not None]
    return f": {' '.join(parts)[:500]}" if parts else ""


class DevSmsOutbox:
    """Development's phone: every text lands as a JSON file, one per message id, written
    atomically (a redelivery after a crash replaces the file instead of duplicating it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send(self, message: SmsMessage) -> str | None:
        await to_thread.run_sync(self._write, message)
        return None

    async def close(self) -> None:
        return None

    def _write(self, message: SmsMessage) -> None:
        record = {
            "id": message.id,
            "to": message.to,
            "body": message.body,
            "created_at": message.created_at.astimezone(UTC).isoformat(),
        }
        tmp = self.directory / f".{message.id}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.directory / f"{message.id}.json")

    def messages(self, to: str | None = None) -> list[DevSms]:
        wanted = _digits(to) if to else None
        found = []
        for path in self.directory.glob("*.json"):
            try:
                record = json.loads(path.read_text())
                order = path.stat().st_mtime_ns
            except (OSError, ValueError):
                continue  # replaced or half-written while we listed the directory
            if wanted is not None and _digits(record.get("to", "")) != wanted:
                continue
            found.append(DevSms.from_record(record, order))
        found.sort(key=lambda m: (m.created_at, m.order), reverse=True)
        return found


def _digits(number: str) -> str:
    # "+1 415…", "%2B1415…" decoded to " 1415…" (a + in a query string is a space): compare digits.
    return re.sub(r"\D", "", number)


CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass(frozen=True)
class DevSms:
    id: str
    to: str
    body: str
    codes: list[str]
    created_at: datetime
    order: int

    @classmethod
    def from_record(cls, record: dict[str, Any], order: int) -> DevSms:
        body = str(record.get("body", ""))
        return cls(
            id=str(record.get("id", "")),
            to=str(record.get("to", "")),
            body=body,
            codes=CODE_RE.findall(body),
            created_at=datetime.fromisoformat(str(record["created_at"])),
            order=order,
        )
