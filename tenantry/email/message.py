"""From an outbox row to the exact bytes that leave: headers, text and HTML parts, DKIM signature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

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
    message = build_message(mail, default_from)
    from_header = str(message["From"])
    # CRLF line endings, as on the wire: the signature is computed over what is sent.
    data = message.as_bytes(policy=SMTP)
    if signer is not None:
        data = signer.sign(data, sender.domain_of(from_header))
    return Envelope(mail.message_id, parseaddr(from_header)[1], mail.to_address, data)
