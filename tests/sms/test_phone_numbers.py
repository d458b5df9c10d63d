"""Phone number validation and E.164 normalisation (libphonenumber), without a server."""

from __future__ import annotations

import pytest

from tenantry import errors
from tenantry.sms.phone import normalise_phone, phone_id


@pytest.mark.parametrize(
    ("given", "e164"),
    [
        ("+12015550123", "+12015550123"),
        ("+1 (201) 555-0123", "+12015550123"),
        ("  +1.201.555.0123 ", "+12015550123"),
        ("+44 20 7946 0018", "+442079460018"),
        ("+49 151 12345678", "+4915112345678"),
    ],
)
def test_valid_numbers_come_back_in_e164(given, e164):
    assert normalise_phone(given) == e164


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("2015550123", errors.InvalidPhoneNumber),  # no country code: which country?
        ("+1201555012", errors.InvalidPhoneNumber),  # too short for the North American plan
        ("+120155501234", errors.InvalidPhoneNumber),  # too long
        ("+", errors.InvalidPhoneNumber),
        ("", errors.InvalidPhoneNumber),
        ("+1 201 555 CALL", errors.InvalidPhoneNumber),
        ("+999 1234 5678", errors.InvalidPhoneNumberCountryCode),
        ("+10000000000", errors.InvalidPhoneNumber),  # possible length, not an assigned range
    ],
)
def test_invalid_numbers_are_refused_with_stytchs_error_types(given, error):
    with pytest.raises(error):
        normalise_phone(given)


def test_phone_id_is_stable_per_member_and_number():
    a = phone_id("project-test-1", "member-test-1", "+12015550123")
    assert a == phone_id("project-test-1", "member-test-1", "+12015550123")
    assert a.startswith("phone-number-test-")
    assert a != phone_id("project-test-1", "member-test-1", "+12015550124")
    assert a != phone_id("project-test-1", "member-test-2", "+12015550123")
    assert phone_id("project-live-1", "member-live-1", "+12015550123").startswith("phone-number-live-")
