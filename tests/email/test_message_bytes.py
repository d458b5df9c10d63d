"""The delivery loop writes the usual mail without the ``email`` package's header objects: its
bytes must be what the package writes (same boundary), except for where quoted-printable lines
break, or the package must write it."""

from __future__ import annotations

import binascii
import itertools
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import SMTP, default

import pytest

from tenantry.email.message import _from_header, build_message, direct_bytes, envelope
from tenantry.email.outbox import OutgoingMail
from tenantry.email.render import LOCALES, render

BOUNDARY = "===============0123456789012345678=="
DEFAULT_FROM = "Tenantry <no-reply@tenantry.localhost>"

ORGANIZATIONS = [
    "Clinic abc",
    "Summit Health & Co. <Main>",
    "Clínica São José",  # non-ASCII subject: encoded by the package
    "x" * 70,  # subject too long for one line: folded by the package
    "Odd =?utf-8?q?word?= name",
    'Bracket (comment) "quoted" name',
    "",
]
RECIPIENTS = ["doctor@clinic.example.com", "Front.Desk+1@Clinic-7.example.com", "ünï@example.com", "a" * 80 + "@x.io"]
MESSAGE_IDS = ["<0123456789abcdef0123456789abcdef@tenantry.localhost>", "<abc@xn--bcher-kva.example>"]
SENDERS = [(None, None), ("Clinic Sender", "mail@clinic.example"), ("Dr. Ünal, MD", None), ("x" * 90, None)]
TIMES = [
    datetime(2026, 11, 22, 19, 22, 4, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5),  # naive, as SQLite returns it
    datetime(2026, 6, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=2))),  # PostgreSQL in a session time zone
]


def _package_bytes(mail: OutgoingMail) -> bytes:
    message = build_message(mail, DEFAULT_FROM)
    message.set_boundary(BOUNDARY)
    return message.as_bytes(policy=SMTP)


def _mails() -> list[OutgoingMail]:
    mails = []
    for template, locale, org in itertools.product(
        ("discovery", "invite", "login", "email_otp"), LOCALES, ORGANIZATIONS
    ):
        context: dict[str, object] = {"link": "http://127.0.0.1:8000/v1/magic?token=" + "T" * 44, "expires_minutes": 60}
        if template == "invite":
            context |= {"inviter": "admin@clinic.example.com", "name": "Ana"}
        if template == "email_otp":
            context = {"code": "493027", "expires_minutes": 10}
        rendered = render(template, locale=locale, organization_name=org, **context)  # type: ignore[arg-type]
        mails.append((rendered.subject, rendered.text, rendered.html))
    out = []
    for i, (subject, text, html) in enumerate(mails):
        # Each rendered mail once with every recipient, id, sender and time in turn.
        name, address = SENDERS[i % len(SENDERS)]
        out.append(
            OutgoingMail(
                id=str(i),
                project_id="project-test-x",
                message_id=MESSAGE_IDS[i % len(MESSAGE_IDS)],
                to_address=RECIPIENTS[i % len(RECIPIENTS)],
                subject=subject,
                text_body=text,
                html_body=html,
                created_at=TIMES[i % len(TIMES)],
                attempts=1,
                from_name=name,
                from_address=address,
            )
        )
    # Bodies the templates do not produce: empty, CR line ends, long non-ASCII lines.
    for text, html in [
        ("", ""),
        ("Olá, José\n", "<p>ü</p>\n"),
        ("a\rb\r\nc", "<p>x</p>"),
        ("é" * 200 + "\n" + "x" * 300, "ü " * 500),
    ]:
        out.append(replace_bodies(out[0], text, html))
    return out


def replace_bodies(mail: OutgoingMail, text: str, html: str) -> OutgoingMail:
    from dataclasses import replace

    return replace(mail, text_body=text, html_body=html)


def _sections(data: bytes) -> list[tuple[list[bytes], bytes]]:
    """Each header block of a multipart/alternative mail (the mail's, then each part's) with the
    body below it, split on the wire's CRLF and the fixed boundary."""
    sections = []
    for chunk in data.split(b"\r\n--" + BOUNDARY.encode())[:-1]:
        head, _, body = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        sections.append((head.split(b"\r\n"), body))
    return sections


@pytest.mark.parametrize("mail", _mails(), ids=lambda m: m.id)
def test_direct_bytes_are_the_packages_bytes_but_for_quoted_printable_line_breaks(mail: OutgoingMail) -> None:
    _, from_line = _from_header(mail.from_name, mail.from_address, DEFAULT_FROM)
    direct = direct_bytes(mail, from_line, BOUNDARY)
    if direct is None:
        return
    package = _package_bytes(mail)
    closing = b"\r\n--" + BOUNDARY.encode() + b"--\r\n"
    assert direct.endswith(closing) and package.endswith(closing)
    ours, theirs = _sections(direct), _sections(package)
    assert [head for head, _ in ours] == [head for head, _ in theirs]  # every header, encodings included
    for (head, body), (_, package_body) in zip(ours[1:], theirs[1:], strict=True):
        if b"Content-Transfer-Encoding: quoted-printable" in head:
            # The same text once decoded, in lines a relay takes (binascii breaks at 76).
            assert binascii.a2b_qp(body) == binascii.a2b_qp(package_body)
            assert all(len(line) <= 76 for line in body.split(b"\r\n"))
        else:
            assert body == package_body
    assert b"\r" not in direct.replace(b"\r\n", b"") and b"\n" not in direct.replace(b"\r\n", b"")
    # And a mail reader reads both alike.
    for subtype in ("plain", "html"):
        read = [
            message_from_bytes(data, policy=default).get_body((subtype,)).get_content()  # type: ignore[union-attr]
            for data in (direct, package)
        ]
        assert read[0] == read[1]


def test_the_usual_mail_takes_the_direct_path_and_reads_back() -> None:
    rendered = render(
        "invite", organization_name="Clinic abc", link="http://x/?token=t", expires_minutes=60, inviter="", name=""
    )
    mail = OutgoingMail(
        id="1",
        project_id="p",
        message_id="<0123456789abcdef@tenantry.localhost>",
        to_address="doctor@clinic.example.com",
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        created_at=TIMES[0],
        attempts=1,
    )
    _, from_line = _from_header(None, None, DEFAULT_FROM)
    assert b"Content-Transfer-Encoding: quoted-printable" in direct_bytes(mail, from_line, BOUNDARY)  # type: ignore[operator]
    parsed = message_from_bytes(envelope(mail, DEFAULT_FROM, None).data, policy=default)
    assert parsed["To"] == "doctor@clinic.example.com"
    # Read back as a mail reader would (CRLF on the wire).
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text  # type: ignore[union-attr]
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html  # type: ignore[union-attr]


def test_the_comparison_covers_both_paths() -> None:
    direct = [
        m for m in _mails() if direct_bytes(m, _from_header(m.from_name, m.from_address, DEFAULT_FROM)[1], BOUNDARY)
    ]
    assert 20 <= len(direct) < len(_mails())
    # 7bit, 8bit, quoted-printable and base64 bodies all among them.
    encodings = {
        line for m in direct for line in _package_bytes(m).split(b"\r\n") if line.startswith(b"Content-Transfer")
    }
    assert len(encodings) == 4, encodings


def test_unusual_headers_are_left_to_the_package() -> None:
    base = _mails()[0]
    from dataclasses import replace

    _, from_line = _from_header(None, None, DEFAULT_FROM)
    for changed in (
        replace(base, subject="Clínica"),
        replace(base, subject="x" * 80),
        replace(base, subject="=?utf-8?q?x?="),
        replace(base, subject="two  spaces"),
        replace(base, to_address="ünï@example.com"),
        replace(base, to_address="a..b@example.com"),
    ):
        assert direct_bytes(changed, from_line, BOUNDARY) is None
