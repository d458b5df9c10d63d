"""Email templates: Jinja2, autoescaped HTML and a plain-text twin, in the locales Stytch accepts.

Templates are written in English with ``{% trans %}`` blocks; the other locales translate those
sentences through the catalogues in ``tenantry/email/translations.py`` (one Jinja environment per
locale, so a render never depends on shared mutable state).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from tenantry.email.translations import CATALOGS, plural_index

DEFAULT_LOCALE = "en"
# The values of Stytch's ``locale`` enum on the email send routes (SendRequestLocale & co.).
LOCALES = ("en", "es", "pt-br", "fr")


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def _gettext(locale: str) -> tuple[Callable[[str], str], Callable[[str, str, int], str]]:
    catalog = CATALOGS.get(locale, {})

    def gettext(message: str) -> str:
        found = catalog.get(message)
        return found if isinstance(found, str) else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        found = catalog.get(singular)
        if isinstance(found, tuple):
            return found[plural_index(locale, n)]
        return singular if n == 1 else plural

    return gettext, ngettext


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=PackageLoader("tenantry.email", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        # The templates ship with the package: no stat() of each file on every render.
        auto_reload=False,
    )
    # Messages are one line however the template wraps them, so catalogue keys stay stable.
    env.policies["ext.i18n.trimmed"] = True
    gettext, ngettext = _gettext(locale)
    # newstyle: variables are substituted (and HTML-escaped) after translation.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


_ENVIRONMENTS = {locale: _environment(locale) for locale in LOCALES}


def environment(locale: str = DEFAULT_LOCALE) -> Environment:
    return _ENVIRONMENTS[locale]


@functools.cache
def _templates(locale: str, template: str) -> tuple[Template, Template, Template]:
    """The subject, text and HTML templates of ``template``, loaded and compiled once."""
    env = _ENVIRONMENTS[locale]
    get = env.get_template
    return get(f"{template}.subject.txt"), get(f"{template}.txt"), get(f"{template}.html")


def duration(minutes: int, locale: str) -> str:
    """``60`` -> "1 hour", ``10080`` -> "7 days", ``45`` -> "45 minutes", in ``locale``."""
    _, ngettext = _gettext(locale)
    if minutes % 1440 == 0:
        count, singular, plural = minutes // 1440, "%(num)d day", "%(num)d days"
    elif minutes % 60 == 0:
        count, singular, plural = minutes // 60, "%(num)d hour", "%(num)d hours"
    else:
        count, singular, plural = minutes, "%(num)d minute", "%(num)d minutes"
    return ngettext(singular, plural, count) % {"num": count}


def render(
    template: str,
    *,
    locale: str | None = None,
    expires_minutes: int,
    organization_name: str = "",
    logo_url: str = "",
    sender_name: str = "",
    otp_code: str | None = None,
    otp_expires_minutes: int | None = None,
    **context: Any,
) -> RenderedMail:
    """Render ``template`` (discovery, login, signup, invite, email_otp) in ``locale``.

    ``logo_url`` is shown only when it is an http(s) URL; the mail reads fine without it (alt
    text, no other external assets). ``otp_code`` adds the code to a magic-link mail.
    """
    lang = locale or DEFAULT_LOCALE
    if lang not in _ENVIRONMENTS:
        raise ValueError(f"unsupported locale {lang!r}")
    values: dict[str, Any] = {
        "lang": lang,
        "duration": duration(expires_minutes, lang),
        "organization_name": organization_name,
        "logo_url": logo_url if logo_url.lower().startswith(("https://", "http://")) else "",
        "sender_name": sender_name,
        # What the mail is "from" in the reader's eyes: the organization, else the project's sender.
        "brand": organization_name or sender_name,
        "otp_code": otp_code,
        "otp_duration": duration(otp_expires_minutes, lang) if otp_code and otp_expires_minutes else "",
        **context,
    }
    subject_template, text_template, html_template = _templates(lang, template)
    # Organization names end up in the subject: a newline there must not become a header break.
    subject = " ".join(subject_template.render(**values).split())
    text = text_template.render(**values)
    html = html_template.render(subject=subject, **values)
    return RenderedMail(subject, text, html)
