"""The text of the passcode message, in the locales Stytch's SMS send accepts."""

from __future__ import annotations

from tenantry import errors

# Stytch's SendRequestLocale values (the OpenAPI lists the first four, the Python SDK all eight).
TEMPLATES = {
    "en": "{code} is your {project} verification code. It expires in {minutes} minutes.",
    "es": "{code} es tu código de verificación de {project}. Caduca en {minutes} minutos.",
    "pt-br": "{code} é o seu código de verificação do {project}. Ele expira em {minutes} minutos.",
    "fr": "{code} est votre code de vérification {project}. Il expire dans {minutes} minutes.",
    "it": "{code} è il tuo codice di verifica {project}. Scade tra {minutes} minuti.",
    "de-DE": "{code} ist Ihr {project}-Bestätigungscode. Er läuft in {minutes} Minuten ab.",
    "zh-Hans": "{code} 是您的 {project} 验证码，{minutes} 分钟内有效。",
    "ca-ES": "{code} és el teu codi de verificació de {project}. Caduca d'aquí a {minutes} minuts.",
}
DEFAULT_LOCALE = "en"
# Keeps the message in one or two SMS segments whatever the project is called.
PROJECT_NAME_MAX = 40


def validate_locale(locale: str | None) -> str:
    if locale is None or locale == "":
        return DEFAULT_LOCALE
    for known in TEMPLATES:
        if known.lower() == locale.lower():
            return known
    raise errors.InvalidArgument(f"locale must be one of {', '.join(TEMPLATES)}.")


def passcode_message(*, code: str, project_name: str, minutes: int, locale: str) -> str:
    name = " ".join(project_name.split())[:PROJECT_NAME_MAX] or "Tenantry"
    return TEMPLATES[locale].format(code=code, project=name, minutes=minutes)
