"""Phone numbers: parsed and validated with Google's libphonenumber (``phonenumbers``) and kept
in E.164 (``+14155550123``), the only form Stytch accepts and returns."""

from __future__ import annotations

import re
import uuid

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from tenantry import errors
from tenantry.ids import environment_of

_FORMATTED = re.compile(r"\+[0-9 ().-]+")
# A fixed namespace, so a member's phone id is stable for as long as the number stays theirs.
_PHONE_ID_NAMESPACE = uuid.UUID("6b0a2a4e-2f5d-4d36-9c43-8f1d3f0e7c21")


def normalise_phone(raw: str) -> str:
    """The E.164 form of ``raw``; ``invalid_phone_number(_country_code)`` otherwise.

    A leading ``+`` and the country code are required: without them a number is ambiguous
    (which country's "555 0123"?). Spaces, dashes, dots and brackets are tolerated.
    """
    text = raw.strip()
    # Digits only after the +, and the usual separators: libphonenumber would otherwise read
    # letters as a keypad ("1-800-FLOWERS") and drop an extension, neither of which an SMS can use.
    if not _FORMATTED.fullmatch(text):
        raise errors.InvalidPhoneNumber()
    try:
        parsed = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise errors.InvalidPhoneNumberCountryCode() from None
        raise errors.InvalidPhoneNumber() from None
    if phonenumbers.region_code_for_country_code(parsed.country_code) == phonenumbers.UNKNOWN_REGION:
        raise errors.InvalidPhoneNumberCountryCode()
    # is_valid_number checks length and prefixes against the numbering plan of the country,
    # so a number with a digit too many or too few is refused here, not by the SMS provider.
    if not phonenumbers.is_valid_number(parsed):
        raise errors.InvalidPhoneNumber()
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def phone_id(project_id: str, member_id: str, e164: str) -> str:
    """The ``phone_id`` of a member's number in ``phone_number_factor`` (``phone-number-test-…``).

    Derived, not stored: the same member and number always give the same id, and a new number
    gives a new one, which is all a session factor needs from it.
    """
    derived = uuid.uuid5(_PHONE_ID_NAMESPACE, f"{member_id}\x00{e164}")
    return f"phone-number-{environment_of(project_id)}-{derived}"
