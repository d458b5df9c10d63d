"""A clinic turns on MFA, through the official Python SDK (stytch 15.3.0) against a real server,
on SQLite and PostgreSQL: the next login stops at ``member_authenticated: false``, the contact
enrols an authenticator app and gets a session whose JWT carries both factors, and a colleague
later gets in with a recovery code, which does not work twice."""

from __future__ import annotations

import pyotp
import pytest
from stytch.core.response_base import StytchError

from mfa.helpers import discovery_login, factor_types, jwt_factor_types, png_of, settle

CONTACT = "contact@clinic.com"
NURSE = "nurse@clinic.com"


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def test_clinic_requires_mfa_then_totp_then_recovery_code(server, stytch_client):
    client = stytch_client
    first = discovery_login(server, client, CONTACT)
    created = client.discovery.organizations.create(
        intermediate_session_token=first.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    assert created.member_authenticated is True
    org_id = created.organization.organization_id
    assert created.organization.mfa_policy == "OPTIONAL"
    assert created.member.mfa_enrolled is False and created.member.totp_registration_id == ""

    # The clinic requires a second factor of everyone from now on.
    updated = client.organizations.update(organization_id=org_id, mfa_policy="REQUIRED_FOR_ALL")
    assert updated.organization.mfa_policy == "REQUIRED_FOR_ALL"

    # The next discovery login: the clinic is listed, but entering it needs MFA.
    again = discovery_login(server, client, CONTACT)
    [listed] = again.discovered_organizations
    assert listed.member_authenticated is False
    assert listed.mfa_required is not None and listed.mfa_required.member_options is None
    exchanged = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=again.intermediate_session_token, organization_id=org_id
    )
    assert exchanged.member_authenticated is False
    assert exchanged.session_token == "" and exchanged.session_jwt == ""
    assert exchanged.member_session is None
    assert exchanged.intermediate_session_token == again.intermediate_session_token
    assert exchanged.mfa_required is not None
    assert exchanged.mfa_required.member_options is None  # nothing enrolled yet
    assert exchanged.mfa_required.secondary_auth_initiated is None
    member_id = exchanged.member_id

    # Enrol an authenticator app with the intermediate session.
    enrolment = client.totps.create(
        organization_id=org_id, member_id=member_id, intermediate_session_token=exchanged.intermediate_session_token
    )
    assert enrolment.totp_registration_id.startswith("member-totp-test-")
    png_of(enrolment.qr_code)
    assert len(enrolment.recovery_codes) == 10 and len(set(enrolment.recovery_codes)) == 10
    assert enrolment.member.totp_registration_id == ""  # active only once a code proved it

    settle()
    done = client.totps.authenticate(
        organization_id=org_id,
        member_id=member_id,
        code=pyotp.TOTP(enrolment.secret).now(),
        intermediate_session_token=exchanged.intermediate_session_token,
    )
    assert done.session_token and done.session_jwt
    assert done.member_session is not None
    assert factor_types(done.member_session.authentication_factors) == {"magic_link", "totp"}
    totp_factor = next(f for f in done.member_session.authentication_factors if f.type == "totp")
    assert totp_factor.delivery_method == "authenticator_app"
    assert totp_factor.authenticator_app_factor.totp_id == enrolment.totp_registration_id
    assert done.member.totp_registration_id == enrolment.totp_registration_id
    assert done.member.default_mfa_method == "totp"
    assert jwt_factor_types(done.session_jwt) == {"magic_link", "totp"}
    local = client.sessions.authenticate_jwt_local(session_jwt=done.session_jwt)
    assert local is not None
    assert factor_types(local.authentication_factors) == {"magic_link", "totp"}
    assert client.sessions.authenticate(session_token=done.session_token).member_session.member_id == member_id

    # The IST was spent by the completion.
    with pytest.raises(StytchError) as spent:
        client.recovery_codes.recover(
            organization_id=org_id,
            member_id=member_id,
            recovery_code=enrolment.recovery_codes[0],
            intermediate_session_token=exchanged.intermediate_session_token,
        )
    assert error_of(spent) == (404, "intermediate_session_not_found")

    # Next time the member is offered the authenticator app.
    third = discovery_login(server, client, CONTACT)
    assert third.discovered_organizations[0].mfa_required.member_options.totp_registration_id == (
        enrolment.totp_registration_id
    )

    # A colleague joins by email domain, must enrol too, and keeps the recovery codes.
    nurse_login = discovery_login(server, client, NURSE)
    [eligible] = nurse_login.discovered_organizations
    assert eligible.membership.type == "eligible_to_join_by_email_domain"
    assert eligible.member_authenticated is False
    joined = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=nurse_login.intermediate_session_token, organization_id=org_id
    )
    assert joined.member_authenticated is False and joined.session_jwt == ""
    nurse_id = joined.member_id
    nurse_totp = client.totps.create(
        organization_id=org_id, member_id=nurse_id, intermediate_session_token=joined.intermediate_session_token
    )
    settle()
    client.totps.authenticate(
        organization_id=org_id,
        member_id=nurse_id,
        code=pyotp.TOTP(nurse_totp.secret).now(),
        intermediate_session_token=joined.intermediate_session_token,
    )
    assert client.recovery_codes.get(organization_id=org_id, member_id=nurse_id).recovery_codes == (
        nurse_totp.recovery_codes
    )

    # Phone lost: the nurse logs in and recovers with a code.
    lost = discovery_login(server, client, NURSE)
    entered = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=lost.intermediate_session_token, organization_id=org_id
    )
    assert entered.member_authenticated is False
    assert entered.mfa_required.member_options.totp_registration_id == nurse_totp.totp_registration_id
    code = nurse_totp.recovery_codes[3]
    recovered = client.recovery_codes.recover(
        organization_id=org_id,
        member_id=nurse_id,
        recovery_code=code,
        intermediate_session_token=entered.intermediate_session_token,
    )
    assert recovered.session_token and recovered.session_jwt
    assert recovered.recovery_codes_remaining == 9
    assert factor_types(recovered.member_session.authentication_factors) == {"magic_link", "recovery_codes"}
    assert jwt_factor_types(recovered.session_jwt) == {"magic_link", "recovery_codes"}
    remaining = client.recovery_codes.get(organization_id=org_id, member_id=nurse_id).recovery_codes
    assert code not in remaining and len(remaining) == 9

    # The same code a second time: refused, and no session comes of it.
    retry = discovery_login(server, client, NURSE)
    blocked = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=retry.intermediate_session_token, organization_id=org_id
    )
    with pytest.raises(StytchError) as reused:
        client.recovery_codes.recover(
            organization_id=org_id,
            member_id=nurse_id,
            recovery_code=code,
            intermediate_session_token=blocked.intermediate_session_token,
        )
    assert error_of(reused) == (401, "unable_to_authenticate_recovery_code")
    # The IST was not spent by the failed attempt: a good code still completes it.
    ok = client.recovery_codes.recover(
        organization_id=org_id,
        member_id=nurse_id,
        recovery_code=remaining[0],
        intermediate_session_token=blocked.intermediate_session_token,
    )
    assert ok.recovery_codes_remaining == 8


def test_rotating_recovery_codes_invalidates_the_old_ones(server, stytch_client):
    client = stytch_client
    first = discovery_login(server, client, CONTACT)
    created = client.discovery.organizations.create(
        intermediate_session_token=first.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
    )
    org_id, member_id = created.organization.organization_id, created.member_id
    with pytest.raises(StytchError) as no_totp:
        client.recovery_codes.get(organization_id=org_id, member_id=member_id)
    assert error_of(no_totp) == (400, "no_active_recovery_code_backed_factor")

    # Enrolment as a step-up of the existing session: the factor joins that session.
    enrolment = client.totps.create(organization_id=org_id, member_id=member_id, session_token=created.session_token)
    settle()
    stepped = client.totps.authenticate(
        organization_id=org_id,
        member_id=member_id,
        code=pyotp.TOTP(enrolment.secret).now(),
        session_token=created.session_token,
    )
    assert stepped.member_session.member_session_id == created.member_session.member_session_id
    assert stepped.session_token == created.session_token
    assert factor_types(stepped.member_session.authentication_factors) == {"magic_link", "totp"}
    assert jwt_factor_types(stepped.session_jwt) == {"magic_link", "totp"}

    rotated = client.recovery_codes.rotate(organization_id=org_id, member_id=member_id)
    assert len(rotated.recovery_codes) == 10 and not set(rotated.recovery_codes) & set(enrolment.recovery_codes)
    assert client.recovery_codes.get(organization_id=org_id, member_id=member_id).recovery_codes == (
        rotated.recovery_codes
    )
    with pytest.raises(StytchError) as old:
        client.recovery_codes.recover(
            organization_id=org_id,
            member_id=member_id,
            recovery_code=enrolment.recovery_codes[0],
            session_token=created.session_token,
        )
    assert error_of(old) == (401, "unable_to_authenticate_recovery_code")
    with pytest.raises(StytchError) as malformed:
        client.recovery_codes.recover(
            organization_id=org_id, member_id=member_id, recovery_code="not a code", session_token=created.session_token
        )
    assert error_of(malformed) == (400, "invalid_recovery_code")

    # Deleting the TOTP takes its recovery codes with it; the session keeps its factor.
    deleted = client.organizations.members.delete_totp(organization_id=org_id, member_id=member_id)
    assert deleted.member.totp_registration_id == "" and deleted.member.default_mfa_method == ""
    with pytest.raises(StytchError) as gone:
        client.recovery_codes.recover(
            organization_id=org_id,
            member_id=member_id,
            recovery_code=rotated.recovery_codes[0],
            session_token=created.session_token,
        )
    assert error_of(gone) == (400, "no_active_recovery_code_backed_factor")
    still = client.sessions.authenticate(session_token=created.session_token)
    assert "totp" in factor_types(still.member_session.authentication_factors)
    with pytest.raises(StytchError) as twice:
        client.organizations.members.delete_totp(organization_id=org_id, member_id=member_id)
    assert error_of(twice) == (404, "totp_not_found")
