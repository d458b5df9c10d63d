"""Member MFA fields through the Python SDK: ``mfa_enrolled``, ``mfa_phone_number`` and
``default_mfa_method`` on member create and update, with Stytch's per-field permissions when a
member acts with their own session (``stytch.self``) or on a colleague (``stytch.member``)."""

from __future__ import annotations

import pytest
from stytch.b2b.models.organizations_members import DeleteTOTPRequestOptions, UpdateRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from mfa.helpers import discovery_login


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def test_member_mfa_fields_on_create_and_update(server, stytch_client):
    client = stytch_client
    first = discovery_login(server, client, "admin@clinic.com")
    created = client.discovery.organizations.create(
        intermediate_session_token=first.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    org_id = created.organization.organization_id

    made = client.organizations.members.create(
        organization_id=org_id,
        email_address="doctor@clinic.com",
        mfa_enrolled=True,
        mfa_phone_number="+44 20 7946 0958",
    )
    doctor = made.member
    assert doctor.mfa_enrolled is True
    assert doctor.mfa_phone_number == "+442079460958" and doctor.mfa_phone_number_verified is False
    assert doctor.default_mfa_method == "" and doctor.totp_registration_id == ""
    fetched = client.organizations.members.get(organization_id=org_id, member_id=doctor.member_id).member
    assert (fetched.mfa_enrolled, fetched.mfa_phone_number) == (True, "+442079460958")

    with pytest.raises(StytchError) as bad_phone:
        client.organizations.members.create(
            organization_id=org_id, email_address="nurse@clinic.com", mfa_phone_number="12345"
        )
    assert error_of(bad_phone) == (400, "invalid_phone_number")

    updated = client.organizations.members.update(
        organization_id=org_id, member_id=doctor.member_id, default_mfa_method="sms_otp", mfa_enrolled=False
    ).member
    assert (updated.default_mfa_method, updated.mfa_enrolled) == ("sms_otp", False)
    with pytest.raises(StytchError) as other_phone:
        client.organizations.members.update(
            organization_id=org_id, member_id=doctor.member_id, mfa_phone_number="+14155550123"
        )
    assert error_of(other_phone) == (400, "duplicate_member_phone_number_for_member")

    # A plain member may set their own MFA settings, not a colleague's.
    nurse_login = discovery_login(server, client, "nurse@clinic.com")
    nurse = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=nurse_login.intermediate_session_token, organization_id=org_id
    )
    own = UpdateRequestOptions(authorization=Authorization(session_token=nurse.session_token))
    mine = client.organizations.members.update(
        organization_id=org_id, member_id=nurse.member_id, mfa_enrolled=True, method_options=own
    ).member
    assert mine.mfa_enrolled is True
    with pytest.raises(StytchError) as colleague:
        client.organizations.members.update(
            organization_id=org_id, member_id=doctor.member_id, mfa_enrolled=True, method_options=own
        )
    assert error_of(colleague) == (403, "session_authorization_error")
    with pytest.raises(StytchError) as colleague_totp:
        client.organizations.members.delete_totp(
            organization_id=org_id,
            member_id=doctor.member_id,
            method_options=DeleteTOTPRequestOptions(authorization=Authorization(session_token=nurse.session_token)),
        )
    assert error_of(colleague_totp) == (403, "session_authorization_error")

    # The nurse opted in: the next login stops for MFA though the clinic's policy is OPTIONAL.
    again = discovery_login(server, client, "nurse@clinic.com")
    held = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=again.intermediate_session_token, organization_id=org_id
    )
    assert held.member_authenticated is False and held.session_jwt == ""
    assert held.mfa_required is not None and held.mfa_required.member_options is None
