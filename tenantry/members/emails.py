"""Email addresses: validated once at the edge, stored lower-cased."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from tenantry.errors import InvalidEmail


def normalise_email(raw: str) -> str:
    if len(raw) > 320 or any(ch in raw for ch in "\r\n\0"):
        raise InvalidEmail()
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Email format is invalid: {exc}") from None
    return result.normalized.lower()
