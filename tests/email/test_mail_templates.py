"""The email templates: every sentence translated in every locale Stytch accepts, autoescaped HTML,
branding, the optional code in magic-link mails, and subjects that cannot carry a header break."""

from __future__ import annotations

import re

import pytest

from tenantry.email.render import LOCALES, environment, render
from tenantry.email.translations import CATALOGS

TEMPLATES = ("discovery", "login", "signup", "invite", "email_otp")


def _messages() -> set[str]:
    env = environment("en")
    found: set[str] = set()
    for name in env.list_templates():
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        for _line, _func, message in env.extract_translations(source):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _context(template: str) -> dict[str, object]:
    if template == "email_otp":
        return {"code": "493027", "expires_minutes": 10}
    return {"link": "https://app.example/authenticate?token=tok", "expires_minutes": 60, "inviter": "", "name": ""}


def test_every_sentence_is_translated_in_every_locale() -> None:
    messages = _messages() | {"%(num)d minute", "%(num)d hour", "%(num)d day"}
    assert len(messages) > 20
    for locale in LOCALES:
        if locale == "en":
            continue
        missing = sorted(m for m in messages if m not in CATALOGS[locale])
        assert not missing, f"{locale} lacks {missing}"
        # A translation must keep the placeholders of its English sentence.
        for message in messages:
            translated = CATALOGS[locale][message]
            for form in translated if isinstance(translated, tuple) else (translated,):
                assert sorted(re.findall(r"%\(\w+\)[sd]", form)) == sorted(re.findall(r"%\(\w+\)[sd]", message))
        stale = sorted(set(CATALOGS[locale]) - messages)
        assert not stale, f"{locale} translates sentences no template uses: {stale}"


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("locale", LOCALES)
def test_each_template_renders_in_each_locale(template: str, locale: str) -> None:
    mail = render(template, locale=locale, organization_name="Clinic", **_context(template))  # type: ignore[arg-type]
    assert mail.subject and "\n" not in mail.subject
    assert f'<html lang="{locale}">' in mail.html
    if template == "email_otp":
        assert "493027" in mail.text and "493027" in mail.html
    else:
        assert "https://app.example/authenticate?token=tok" in mail.text
        assert 'href="https://app.example/authenticate?token=tok"' in mail.html


def test_spanish_is_spanish() -> None:
    mail = render("login", locale="es", link="https://a/b?token=t", expires_minutes=60, organization_name="Clínica Sol")
    assert mail.subject == "Inicia sesión en Clínica Sol"
    assert "Usa este enlace para iniciar sesión en Clínica Sol:" in mail.text
    assert "caduca en 1 hora" in mail.text
    assert "Iniciar sesión" in mail.html
    invite = render(
        "invite",
        locale="es",
        link="https://a/b?token=t",
        expires_minutes=10080,
        organization_name="Clínica Sol",
        inviter="Ana",
        name="",
    )
    assert invite.subject == "Te han invitado a unirte a Clínica Sol"
    assert "Ana te ha invitado a unirte a Clínica Sol." in invite.text
    assert "caduca en 7 días" in invite.text


def test_organization_values_are_escaped_in_html_and_kept_verbatim_in_text() -> None:
    mail = render(
        "invite",
        link="https://a/b?token=t&x=1",
        expires_minutes=60,
        organization_name='<script>alert(1)</script> & "Co"',
        inviter="<b>Eve</b>",
        name="",
        logo_url='https://cdn.example/logo.png" onerror="x',
    )
    assert "<script>" not in mail.html and "<b>Eve</b>" not in mail.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;" in mail.html
    assert 'src="https://cdn.example/logo.png&#34; onerror=&#34;x"' in mail.html
    assert 'href="https://a/b?token=t&amp;x=1"' in mail.html
    assert '<script>alert(1)</script> & "Co"' in mail.text
    assert "https://a/b?token=t&x=1" in mail.text


def test_logo_and_sender_name() -> None:
    branded = render(
        "login",
        link="https://a/b?token=t",
        expires_minutes=60,
        organization_name="Clinic",
        logo_url="https://cdn.example/clinic.png",
        sender_name="Clinic Support",
    )
    assert '<img src="https://cdn.example/clinic.png" alt="Clinic"' in branded.html
    assert "Clinic Support" in branded.html and "-- Clinic Support" in branded.text
    # Only http(s) logos: a data: or javascript: URL is not rendered.
    for bad in ("javascript:alert(1)", "data:image/png;base64,AAAA"):
        mail = render("login", link="https://a/b", expires_minutes=60, organization_name="Clinic", logo_url=bad)
        assert "<img" not in mail.html
    # Without an organization, the project's sender name is the brand of a discovery mail.
    discovery = render("discovery", link="https://a/b", expires_minutes=60, sender_name="Acme Health")
    assert discovery.subject == "Sign in to Acme Health"
    assert "<img" not in render("discovery", link="https://a/b", expires_minutes=60).html


def test_magic_link_mail_may_carry_the_code() -> None:
    plain = render("discovery", link="https://a/b", expires_minutes=60)
    assert "code" not in plain.text
    with_code = render(
        "discovery", locale="es", link="https://a/b", expires_minutes=60, otp_code="731904", otp_expires_minutes=10
    )
    assert "O introduce este código donde solicitaste el enlace: 731904" in with_code.text
    assert "El código solo se puede usar una vez y caduca en 10 minutos." in with_code.text
    assert "731904" in with_code.html


def test_subject_cannot_break_into_headers() -> None:
    mail = render("login", link="https://a/b", expires_minutes=60, organization_name="Evil\r\nBcc: victim@example.com")
    assert "\r" not in mail.subject and "\n" not in mail.subject


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(ValueError):
        render("discovery", locale="de", link="https://a/b", expires_minutes=60)
