"""Discovery, login, signup, invite and email OTP mails as a real SMTP server (aiosmtpd) receives
them: DKIM signatures that verify against the record ``tenantry mail dns`` printed, a text and an
HTML part, the project's sender, the organization's name and logo, the requested locale, and links
and codes that authenticate."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import dkim
import httpx
from mailtest import DkimKey, SmtpServer, run_cli, text_link

LOGO = "https://cdn.sunrise-clinic.com/logo.png"


def _parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def _assert_signed(smtp: SmtpServer, message: EmailMessage, key: DkimKey) -> None:
    raw = smtp.sink.raw_of(message)
    signature = str(message["DKIM-Signature"])
    assert f"d={key.domain};" in signature.replace(" ", "") and f"s={key.selector};" in signature.replace(" ", "")
    assert dkim.verify(raw, dnsfunc=key.dnsfunc), "DKIM signature does not verify"
    # The check can fail: one changed byte in the body and the signature no longer verifies.
    assert not dkim.verify(raw + b"P.S. added on the way\r\n", dnsfunc=key.dnsfunc)


def _code(text: str) -> str:
    found = re.findall(r"^\s*(\d{6})\s*$", text, flags=re.MULTILINE)
    assert len(found) == 1, text
    return found[0]


def test_mails_arrive_signed_branded_localised_and_working(
    server_factory: Callable[..., Any], smtp_server: SmtpServer, dkim_key: DkimKey, follow: Callable[[str], str]
) -> None:
    domain = dkim_key.domain
    server = server_factory(
        env={
            "TENANTRY_SMTP_URL": smtp_server.url,
            "TENANTRY_MAIL_FROM": f"Tenantry <no-reply@{domain}>",
            "TENANTRY_DKIM_PRIVATE_KEY_FILE": str(dkim_key.path),
            "TENANTRY_DKIM_SELECTOR": dkim_key.selector,
        }
    )
    updated = run_cli(
        "projects",
        "update",
        server.project_id,
        "--mail-from-name",
        "Sunrise Clinic Team",
        "--mail-from-address",
        f"hello@{domain}",
        "--database-url",
        server.database_url,
        env=server.env(),
    )
    assert updated.returncode == 0, updated.stderr
    api: httpx.Client = server.client()
    sink = smtp_server.sink
    sender = f"Sunrise Clinic Team <hello@{domain}>"

    # Discovery, in Spanish. No organization yet: the project's sender name is the brand.
    sent = api.post(
        "/v1/b2b/magic_links/email/discovery/send", json={"email_address": "ana@sunrise-clinic.com", "locale": "es"}
    )
    assert sent.status_code == 200, sent.text
    mail = sink.wait_for_mail_to("ana@sunrise-clinic.com")
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["From"] == sender
    assert mail["Subject"] == "Inicia sesión en Sunrise Clinic Team"
    text, html = _parts(mail)
    assert "Usa este enlace para iniciar sesión" in text and "caduca en 1 hora" in text
    assert '<html lang="es">' in html and "Iniciar sesión" in html
    token = follow(text_link(mail))
    discovered = api.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token})
    assert discovered.status_code == 200, discovered.text

    created = api.post(
        "/v1/b2b/discovery/organizations/create",
        json={
            "intermediate_session_token": discovered.json()["intermediate_session_token"],
            "organization_name": "Sunrise Clinic",
            "organization_slug": "sunrise-clinic",
            "organization_logo_url": LOGO,
            "email_allowed_domains": ["sunrise-clinic.com"],
            "email_jit_provisioning": "RESTRICTED",
            "email_invites": "ALL_ALLOWED",
        },
    )
    assert created.status_code == 200, created.text
    org_id = created.json()["organization"]["organization_id"]

    # Invite, in English, with the organization's name and logo.
    invited = api.post(
        "/v1/b2b/magic_links/email/invite",
        json={"organization_id": org_id, "email_address": "ben@partner-lab.com", "name": "Ben"},
    )
    assert invited.status_code == 200, invited.text
    mail = sink.wait_for_mail_to("ben@partner-lab.com")
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["From"] == sender
    assert mail["Subject"] == "You're invited to join Sunrise Clinic"
    text, html = _parts(mail)
    assert text.startswith("Hello Ben,") and "You have been invited to join Sunrise Clinic." in text
    assert f'<img src="{LOGO}" alt="Sunrise Clinic"' in html and "Accept invitation" in html
    accepted = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": follow(text_link(mail))})
    assert accepted.status_code == 200, accepted.text

    # Login (Ben is active now), in Spanish.
    login = api.post(
        "/v1/b2b/magic_links/email/login_or_signup",
        json={"organization_id": org_id, "email_address": "ben@partner-lab.com", "locale": "es"},
    )
    assert login.status_code == 200, login.text
    mail = sink.wait_for_mail_to("ben@partner-lab.com", count=2)
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["Subject"] == "Inicia sesión en Sunrise Clinic"
    text, html = _parts(mail)
    assert "Usa este enlace para iniciar sesión en Sunrise Clinic:" in text and LOGO in html
    logged_in = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": follow(text_link(mail))})
    assert logged_in.status_code == 200, logged_in.text

    # Signup of a new member admitted by email domain.
    signup = api.post(
        "/v1/b2b/magic_links/email/login_or_signup",
        json={"organization_id": org_id, "email_address": "carla@sunrise-clinic.com"},
    )
    assert signup.status_code == 200, signup.text
    mail = sink.wait_for_mail_to("carla@sunrise-clinic.com")
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["Subject"] == "Finish joining Sunrise Clinic"
    joined = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": follow(text_link(mail))})
    assert joined.status_code == 200, joined.text

    # Email OTP into the organization, in Spanish; and discovery by OTP.
    otp = api.post(
        "/v1/b2b/otps/email/login_or_signup",
        json={"organization_id": org_id, "email_address": "ana@sunrise-clinic.com", "locale": "es"},
    )
    assert otp.status_code == 200, otp.text
    mail = sink.wait_for_mail_to("ana@sunrise-clinic.com", count=2)
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["From"] == sender
    assert mail["Subject"] == "Tu código para iniciar sesión en Sunrise Clinic"
    text, html = _parts(mail)
    code = _code(text)
    assert code in html and LOGO in html
    otp_login = api.post(
        "/v1/b2b/otps/email/authenticate",
        json={"organization_id": org_id, "email_address": "ana@sunrise-clinic.com", "code": code},
    )
    assert otp_login.status_code == 200, otp_login.text

    otp = api.post("/v1/b2b/otps/email/discovery/send", json={"email_address": "dora@elsewhere.com"})
    assert otp.status_code == 200, otp.text
    mail = sink.wait_for_mail_to("dora@elsewhere.com")
    _assert_signed(smtp_server, mail, dkim_key)
    assert mail["Subject"] == "Your sign-in code"
    text, _html = _parts(mail)
    otp_discovery = api.post(
        "/v1/b2b/otps/email/discovery/authenticate", json={"email_address": "dora@elsewhere.com", "code": _code(text)}
    )
    assert otp_discovery.status_code == 200, otp_discovery.text

    # Every mail left once, each with its own Message-ID.
    ids = [str(m["Message-ID"]) for m in sink.messages]
    assert len(ids) == 6 and len(set(ids)) == 6
