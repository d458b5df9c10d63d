"""SMS OTP as the second factor, through the official Python SDK (``stytch`` 15.3.0) against a
real Tenantry process, on SQLite and PostgreSQL: a clinic requires MFA of everyone, a nurse who
logged in by email gets ``member_authenticated: false``, enrols a phone, reads the code from the
dev SMS outbox and receives a session whose factors (and JWT) name both the email and the SMS.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from stytch.core.response_base import StytchError

from sms.helpers import clinic_requiring_mfa, latest_code, login_stopped_at_mfa, wait_for_sms

NURSE = "nurse@clinic.com"
PHONE = "+12015550123"


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def factor_types(factors: list[Any]) -> set[str]:
    return {f.type for f in factors}


def enrol_nurse(server: Any, client: Any) -> tuple[str, str, Any]:
    """The nurse's first login into a new clinic, completed by enrolling PHONE.
    Returns (org_id, member_id, the authenticate response)."""
    org_id, _admin = clinic_requiring_mfa(server, client)
    return enrol_nurse_in(server, client, org_id)


def test_member_completes_required_mfa_by_sms(server, stytch_client):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)

    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    member_id = stopped.member.member_id
    # Nothing enrolled yet: no options to offer, and no code was sent on the nurse's behalf.
    assert stopped.mfa_required.member_options is None
    assert stopped.mfa_required.secondary_auth_initiated is None

    sent = client.otps.sms.send(
        organization_id=org_id,
        member_id=member_id,
        mfa_phone_number="+1 (201) 555-0123",
        intermediate_session_token=stopped.intermediate_session_token,
    )
    # Stored in E.164 and linked at once, verified only by the code (as Stytch does).
    assert (sent.member.mfa_phone_number, sent.member.mfa_phone_number_verified) == (PHONE, False)
    text = wait_for_sms(server, PHONE)[0]
    assert text["to"] == PHONE and "expires in 2 minutes" in text["body"]
    code = text["codes"][0]

    auth = client.otps.sms.authenticate(
        organization_id=org_id,
        member_id=member_id,
        code=code,
        intermediate_session_token=stopped.intermediate_session_token,
    )
    assert auth.session_token and auth.session_jwt
    assert auth.member_session is not None and auth.member_session.member_id == member_id
    factors = auth.member_session.authentication_factors
    assert factor_types(factors) == {"magic_link", "otp"}
    sms_factor = next(f for f in factors if f.type == "otp")
    assert sms_factor.delivery_method == "sms"
    assert sms_factor.phone_number_factor.phone_number == PHONE
    assert sms_factor.phone_number_factor.phone_id.startswith("phone-number-test-")
    assert auth.member.mfa_phone_number_verified is True
    assert auth.member.mfa_enrolled is True  # REQUIRED_FOR_ALL: a completed SMS OTP enrols
    assert auth.member.default_mfa_method == "sms_otp"

    # The JWT names both factors, verified against the server's JWKS.
    local = client.sessions.authenticate_jwt_local(session_jwt=auth.session_jwt)
    assert local is not None and local.member_id == member_id
    claims = jwt.decode(auth.session_jwt, options={"verify_signature": False})
    jwt_factors = claims["https://stytch.com/session"]["authentication_factors"]
    assert {f["type"] for f in jwt_factors} == {"magic_link", "otp"}
    assert client.sessions.authenticate(session_token=auth.session_token).member.member_id == member_id

    # The code is single use: a second try is refused as spent (before the IST is even looked at).
    with pytest.raises(StytchError) as reused:
        client.otps.sms.authenticate(
            organization_id=org_id,
            member_id=member_id,
            code=code,
            intermediate_session_token=stopped.intermediate_session_token,
        )
    assert error_of(reused) == (401, "unable_to_auth_otp_code")

    # The next login knows the phone: the code is sent at once (Stytch's pre-emptive SMS) ...
    again = login_stopped_at_mfa(server, client, NURSE, org_id)
    assert again.mfa_required.secondary_auth_initiated == "sms_otp"
    assert again.mfa_required.member_options.mfa_phone_number == "XXXXXXX0123"
    fresh = latest_code(server, PHONE, count=2)
    # ... and only that newest code counts.
    with pytest.raises(StytchError) as old:
        client.otps.sms.authenticate(
            organization_id=org_id,
            member_id=member_id,
            code=code,
            intermediate_session_token=again.intermediate_session_token,
        )
    assert error_of(old) == (404, "otp_code_not_found")
    second = client.otps.sms.authenticate(
        organization_id=org_id,
        member_id=member_id,
        code=fresh,
        intermediate_session_token=again.intermediate_session_token,
    )
    assert factor_types(second.member_session.authentication_factors) == {"magic_link", "otp"}
    assert second.session_token != auth.session_token


def test_enrolled_member_needs_a_token_and_can_step_up_a_session(server, stytch_client):
    client = stytch_client
    org_id, member_id, first = enrol_nurse(server, client)
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)  # sends text 2 by itself

    # With an active factor, a send needs the member's own login (IST or session) ...
    with pytest.raises(StytchError) as bare:
        client.otps.sms.send(organization_id=org_id, member_id=member_id)
    assert error_of(bare) == (400, "no_associated_session_passed_in")
    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, intermediate_session_token=stopped.intermediate_session_token
    )
    # ... or the session it steps up.
    client.otps.sms.send(organization_id=org_id, member_id=member_id, session_token=first.session_token)
    texts = wait_for_sms(server, PHONE, count=4)

    # Only the newest code counts: the one sent with the IST was replaced by the step-up send.
    with pytest.raises(StytchError) as replaced:
        client.otps.sms.authenticate(
            organization_id=org_id,
            member_id=member_id,
            code=texts[1]["codes"][0],
            intermediate_session_token=stopped.intermediate_session_token,
        )
    assert error_of(replaced) == (404, "otp_code_not_found")

    # Step-up: the session keeps its id and token, gains a fresh SMS factor, and is extended.
    stepped = client.otps.sms.authenticate(
        organization_id=org_id,
        member_id=member_id,
        code=texts[0]["codes"][0],
        session_token=first.session_token,
        session_duration_minutes=30,
    )
    assert stepped.session_token == first.session_token
    assert stepped.member_session.member_session_id == first.member_session.member_session_id
    assert factor_types(stepped.member_session.authentication_factors) == {"magic_link", "otp"}
    assert stepped.member_session.expires_at != first.member_session.expires_at


def test_wrong_codes_lock_the_code(server, stytch_client):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    member_id, ist = stopped.member.member_id, stopped.intermediate_session_token
    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
    )
    code = latest_code(server, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(5):
        with pytest.raises(StytchError) as refused:
            client.otps.sms.authenticate(
                organization_id=org_id, member_id=member_id, code=wrong, intermediate_session_token=ist
            )
        assert error_of(refused) == (404, "otp_code_not_found")
    with pytest.raises(StytchError) as locked:
        client.otps.sms.authenticate(
            organization_id=org_id, member_id=member_id, code=code, intermediate_session_token=ist
        )
    assert error_of(locked) == (401, "unable_to_auth_otp_code")
    # A malformed code is refused before it can spend an attempt.
    with pytest.raises(StytchError) as malformed:
        client.otps.sms.authenticate(
            organization_id=org_id, member_id=member_id, code="12ab", intermediate_session_token=ist
        )
    assert error_of(malformed) == (400, "invalid_code")

    # A new code starts over, and the IST (never spent by the failures) still completes MFA.
    client.otps.sms.send(organization_id=org_id, member_id=member_id, intermediate_session_token=ist)
    fresh = latest_code(server, PHONE, count=2)
    done = client.otps.sms.authenticate(
        organization_id=org_id, member_id=member_id, code=fresh, intermediate_session_token=ist
    )
    assert done.session_token


@pytest.mark.parametrize(
    ("number", "error_type"),
    [
        ("2015550123", "invalid_phone_number"),  # no + and country code: ambiguous
        ("+1201555012", "invalid_phone_number"),  # a digit short for the US plan
        ("+1 201 555 01234", "invalid_phone_number"),
        ("call me", "invalid_phone_number"),
        ("+999 123 4567", "invalid_phone_number_country_code"),
    ],
)
def test_invalid_phone_numbers_are_refused(server, stytch_client, number, error_type):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    member_id = stopped.member.member_id
    with pytest.raises(StytchError) as refused:
        client.otps.sms.send(
            organization_id=org_id,
            member_id=member_id,
            mfa_phone_number=number,
            intermediate_session_token=stopped.intermediate_session_token,
        )
    assert error_of(refused) == (400, error_type)
    # Nothing was linked and nothing was sent.
    member = client.organizations.members.get(organization_id=org_id, member_id=member_id).member
    assert member.mfa_phone_number == ""


def test_changing_the_phone_number_needs_deleting_it_first(server, stytch_client):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    member_id, ist = stopped.member.member_id, stopped.intermediate_session_token
    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
    )
    first_code = latest_code(server, PHONE)

    other = "+12015550199"
    with pytest.raises(StytchError) as clash:
        client.otps.sms.send(
            organization_id=org_id, member_id=member_id, mfa_phone_number=other, intermediate_session_token=ist
        )
    assert error_of(clash) == (400, "duplicate_member_phone_number_for_member")

    deleted = client.organizations.members.delete_mfa_phone_number(organization_id=org_id, member_id=member_id)
    assert deleted.member.mfa_phone_number == "" and deleted.member.mfa_phone_number_verified is False
    with pytest.raises(StytchError) as gone:
        client.organizations.members.delete_mfa_phone_number(organization_id=org_id, member_id=member_id)
    assert error_of(gone) == (404, "member_phone_number_not_found")
    # The code sent to the removed number died with it.
    with pytest.raises(StytchError) as dead:
        client.otps.sms.authenticate(
            organization_id=org_id, member_id=member_id, code=first_code, intermediate_session_token=ist
        )
    assert error_of(dead)[0] in (401, 404)
    # Without a number there is nothing to send to.
    with pytest.raises(StytchError) as missing:
        client.otps.sms.send(organization_id=org_id, member_id=member_id, intermediate_session_token=ist)
    assert error_of(missing) == (404, "member_phone_number_not_found")

    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, mfa_phone_number=other, intermediate_session_token=ist
    )
    done = client.otps.sms.authenticate(
        organization_id=org_id, member_id=member_id, code=latest_code(server, other), intermediate_session_token=ist
    )
    assert done.member.mfa_phone_number == other and done.member.mfa_phone_number_verified is True


def test_sms_refused_where_the_organization_allows_only_totp(server, stytch_client):
    client = stytch_client
    org_id, _admin = clinic_requiring_mfa(server, client)
    client.organizations.update(organization_id=org_id, mfa_methods="RESTRICTED", allowed_mfa_methods=["totp"])
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    with pytest.raises(StytchError) as refused:
        client.otps.sms.send(
            organization_id=org_id,
            member_id=stopped.member.member_id,
            mfa_phone_number=PHONE,
            intermediate_session_token=stopped.intermediate_session_token,
        )
    assert error_of(refused)[1] == "operation_restricted_by_organization_mfa_methods"


def test_a_session_of_another_member_is_refused(server, stytch_client):
    client = stytch_client
    org_id, admin_id = clinic_requiring_mfa(server, client)
    _org, _nurse, nurse_auth = enrol_nurse_in(server, client, org_id)
    with pytest.raises(StytchError) as refused:
        client.otps.sms.send(
            organization_id=org_id,
            member_id=admin_id,
            mfa_phone_number="+12015550100",
            session_token=nurse_auth.session_token,
        )
    assert error_of(refused) == (404, "session_not_found")


def enrol_nurse_in(server: Any, client: Any, org_id: str) -> tuple[str, str, Any]:
    stopped = login_stopped_at_mfa(server, client, NURSE, org_id)
    member_id, ist = stopped.member.member_id, stopped.intermediate_session_token
    client.otps.sms.send(
        organization_id=org_id, member_id=member_id, mfa_phone_number=PHONE, intermediate_session_token=ist
    )
    auth = client.otps.sms.authenticate(
        organization_id=org_id, member_id=member_id, code=latest_code(server, PHONE), intermediate_session_token=ist
    )
    return org_id, member_id, auth
