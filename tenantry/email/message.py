"""From an outbox row to the exact bytes that leave: headers, text and HTML parts, DKIM signature.

``build_message`` states the message with the standard library's ``email`` package. Its header
objects cost ~1.5 ms per mail, more than the rest of a request, so ``envelope`` writes the usual
case (plain ASCII headers that need no folding or encoding) directly, and leaves every other mail
to the package. The direct path writes the package's headers and parts, byte for byte, except
that quoted-printable text is encoded by ``binascii`` (C) where the package uses
``email.quoprimime`` (Python: ~90 µs for the HTML part of an invite, ~4 % of a worker's CPU on
the onboarding benchmark); the two differ only in where they break long lines.
tests/email/test_message_bytes.py compares both paths, and reads both back.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC
from email.contentmanager import _encode_base64  # what EmailMessage.set_content uses for base64
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from tenantry.email import sender
from tenantry.email.dkim_keys import DkimSigner
from tenantry.email.outbox import OutgoingMail


@dataclass(frozen=True)
class Envelope:
    """What a backend delivers. ``data`` is final: a DKIM signature covers these bytes."""

    message_id: str
    mail_from: str
    recipient: str
    data: bytes


def build_message(mail: OutgoingMail, default_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender.from_header(mail.from_name, mail.from_address, default_from)
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    # Stable across retries: a receiver that sees the same Message-ID twice sees one mail.
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.created_at.replace(tzinfo=mail.created_at.tzinfo or UTC))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text_body)
    message.add_alternative(mail.html_body, subtype="html")
    return message


def envelope(mail: OutgoingMail, default_from: str, signer: DkimSigner | None) -> Envelope:
    from_header, from_line = _from_header(mail.from_name, mail.from_address, default_from)
    data = direct_bytes(mail, from_line, _new_boundary())
    if data is None:
        # CRLF line endings, as on the wire: the signature is computed over what is sent.
        data = build_message(mail, default_from).as_bytes(policy=SMTP)
    if signer is not None:
        data = signer.sign(data, sender.domain_of(from_header))
    return Envelope(mail.message_id, parseaddr(from_header)[1], mail.to_address, data)


# -- the direct path -------------------------------------------------------------------------------

_MAX_LINE = SMTP.max_line_length  # 78: a longer header would be folded
_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>\Z")
# Printable ASCII words with single spaces between them; "=?" could read as an encoded word.
_TEXT = re.compile(r"(?!.*=\?)[!-~]+(?: [!-~]+)*\Z")


@lru_cache(maxsize=256)
def _from_header(name: str | None, address: str | None, default_from: str) -> tuple[str, bytes]:
    """The From header's value and its line as the package writes it (a project's sender rarely changes)."""
    message = EmailMessage()
    message["From"] = sender.from_header(name, address, default_from)
    return str(message["From"]), SMTP.fold_binary("From", message["From"])


def _new_boundary() -> str:
    # email.generator.Generator._make_boundary's form: 15 "=", 19 digits, "==".
    return "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="


def _line(name: str, value: str, pattern: re.Pattern[str]) -> str | None:
    line = f"{name}: {value}"
    return line + "\r\n" if len(line) <= _MAX_LINE and pattern.match(value) else None


def _encode_body(body: str) -> tuple[str, str]:
    """The Content-Transfer-Encoding ``EmailMessage.set_content`` picks for ``body`` (its
    heuristic, email.contentmanager._encode_text: 7bit or 8bit when no line is too long, else
    quoted-printable unless the first ten lines come out shorter in base64), and ``body`` in it,
    with LF line ends."""
    lines = body.encode("utf-8").splitlines()
    normal = b"\n".join(lines) + b"\n"
    if max(map(len, lines), default=0) <= _MAX_LINE:
        return ("7bit" if normal.isascii() else "8bit"), normal.decode("ascii", "surrogateescape")
    sniff = b"\n".join(lines[:10]) + b"\n"
    if len(binascii.b2a_qp(sniff, istext=True)) > len(binascii.b2a_base64(sniff)):
        return "base64", _encode_base64(normal, _MAX_LINE)
    return "quoted-printable", binascii.b2a_qp(normal, istext=True).decode("ascii")


def _part(subtype: str, body: str, mime_version: bool) -> str:
    cte, payload = _encode_body(body)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    if mime_version:
        head += "MIME-Version: 1.0\r\n"
    return head + "\r\n" + payload.replace("\n", "\r\n")


def direct_bytes(mail: OutgoingMail, from_line: bytes, boundary: str) -> bytes | None:
    """``build_message(mail).as_bytes(policy=SMTP)`` with ``boundary`` (quoted-printable lines
    broken by binascii), or None when a header would need folding or encoding (the package then
    writes the mail)."""
    date = format_datetime(mail.created_at.replace(tzinfo=mail.created_at.tzinfo or UTC))
    headers = [
        _line("To", mail.to_address, _ADDRESS),
        _line("Subject", mail.subject, _TEXT),
        _line("Message-ID", mail.message_id, _MESSAGE_ID),
    ]
    if None in headers:
        return None
    text = _part("plain", mail.text_body, False)
    html = _part("html", mail.html_body, True)
    if boundary in text or boundary in html:
        return None  # the package would pick another boundary
    out = (
        "".join(headers)  # type: ignore[arg-type]
        + f"Date: {date}\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
        + f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\n{text}\r\n--{boundary}\r\n{html}\r\n--{boundary}--\r\n"
    )
    return from_line + out.encode("ascii", "surrogateescape")
