"""Email OTP through the official Python SDK (``stytch`` 15.3.0), on SQLite and PostgreSQL: the
discovery flow and the organization login_or_signup / authenticate flow, codes read from the dev
mailbox."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import stytch
from stytch.core.response_base import StytchError

from otps.helpers import latest_code


def sdk_error(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def discovery_code(server: Any, client: stytch.B2BClient, email: str) -> str:
    already = len(server.mailbox(email))
    sent = client.otps.email.discovery.send(email_address=email)
    assert sent.status_code == 200 and sent.request_id
    return latest_code(server, email, count=already + 1)


def org_code(server: Any, client: stytch.B2BClient, org_id: str, email: str) -> tuple[Any, str]:
    already = len(server.mailbox(email))
    sent = client.otps.email.login_or_signup(organization_id=org_id, email_address=email)
    return sent, latest_code(server, email, count=already + 1)


def test_discovery_otp_flow(server, stytch_client):
    domain = f"otp-{secrets.token_hex(3)}.example.com"
    founder, nurse = f"founder@{domain}", f"nurse@{domain}"

    code = discovery_code(server, stytch_client, founder)
    mail = server.mailbox(founder)[0]
    assert mail["links"] == [], "a code mail carries no link"
    auth = stytch_client.otps.email.discovery.authenticate(email_address=founder, code=code)
    assert auth.email_address == founder
    assert auth.intermediate_session_token
    assert auth.discovered_organizations == []

    # The code is spent.
    with pytest.raises(StytchError) as used:
        stytch_client.otps.email.discovery.authenticate(email_address=founder, code=code)
    assert sdk_error(used) == (401, "unable_to_auth_otp_code")

    created = stytch_client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name="OTP Clinic",
        organization_slug=domain.split(".")[0],
        email_allowed_domains=[domain],
        email_jit_provisioning="RESTRICTED",
    )
    assert created.member_authenticated is True
    assert created.member.email_address_verified is True
    factors = created.member_session.authentication_factors
    assert [(f.type, f.delivery_method) for f in factors] == [("email_otp", "email")]
    assert factors[0].email_factor.email_address == founder
    org_id = created.organization.organization_id

    # A colleague proves their email with a code and joins by the allowed domain.
    colleague = stytch_client.otps.email.discovery.authenticate(
        email_address=nurse, code=discovery_code(server, stytch_client, nurse)
    )
    found = {d.organization.organization_id: d for d in colleague.discovered_organizations}
    assert found[org_id].membership.type == "eligible_to_join_by_email_domain"
    joined = stytch_client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=colleague.intermediate_session_token, organization_id=org_id
    )
    assert joined.member_authenticated is True
    assert joined.member.email_address == nurse and joined.member.status == "active"

    # The founder returns through discovery: an active membership.
    again = stytch_client.otps.email.discovery.authenticate(
        email_address=founder, code=discovery_code(server, stytch_client, founder)
    )
    assert [(d.organization.organization_id, d.membership.type) for d in again.discovered_organizations] == [
        (org_id, "active_member")
    ]


def test_discovery_otp_refusals(server, stytch_client):
    email = f"someone-{secrets.token_hex(3)}@example.org"
    # Nothing was ever sent to this address.
    with pytest.raises(StytchError) as unknown:
        stytch_client.otps.email.discovery.authenticate(email_address=email, code="123456")
    assert sdk_error(unknown) == (404, "otp_code_not_found")

    code = discovery_code(server, stytch_client, email)
    wrong = "000000" if code != "000000" else "000001"
    with pytest.raises(StytchError) as wrong_code:
        stytch_client.otps.email.discovery.authenticate(email_address=email, code=wrong)
    assert sdk_error(wrong_code) == (404, "otp_code_not_found")
    with pytest.raises(StytchError) as malformed:
        stytch_client.otps.email.discovery.authenticate(email_address=email, code="12a456")
    assert sdk_error(malformed) == (400, "invalid_code")
    for minutes in (1, 16):
        with pytest.raises(StytchError) as bounds:
            stytch_client.otps.email.discovery.send(email_address=email, discovery_expiration_minutes=minutes)
        assert sdk_error(bounds) == (400, "invalid_argument")
    with pytest.raises(StytchError) as bad_email:
        stytch_client.otps.email.discovery.send(email_address="not-an-email")
    assert sdk_error(bad_email) == (400, "invalid_email")

    # The right code still works after one wrong guess, with any supported locale.
    assert stytch_client.otps.email.discovery.authenticate(email_address=email, code=code).intermediate_session_token
    sent = stytch_client.otps.email.discovery.send(email_address=email, locale="es", discovery_expiration_minutes=15)
    assert sent.status_code == 200
    with pytest.raises(StytchError) as locale:
        stytch_client.otps.email.discovery.send(email_address=email, locale="de")
    assert sdk_error(locale) == (400, "invalid_argument")


def test_login_or_signup_and_authenticate(server, stytch_client):
    domain = f"otp-org-{secrets.token_hex(3)}.example.com"
    org = stytch_client.organizations.create(
        organization_name="Northside",
        organization_slug=domain.split(".")[0],
        email_allowed_domains=[domain],
        email_jit_provisioning="RESTRICTED",
    ).organization
    email = f"new@{domain}"

    # A new email on the allowed domain: a pending member and a signup code.
    sent, code = org_code(server, stytch_client, org.organization_id, email)
    assert sent.member_created is True
    assert sent.member.status == "pending" and sent.member.email_address == email
    assert sent.organization.organization_id == org.organization_id
    assert "Northside" in server.mailbox(email)[0]["subject"]

    with pytest.raises(StytchError) as wrong:
        stytch_client.otps.email.authenticate(
            organization_id=org.organization_id, email_address=email, code="999999" if code != "999999" else "111111"
        )
    assert sdk_error(wrong) == (404, "otp_code_not_found")

    authed = stytch_client.otps.email.authenticate(
        organization_id=org.organization_id, email_address=email, code=code, session_duration_minutes=30
    )
    assert authed.member_authenticated is True
    assert authed.member_id == authed.member.member_id == sent.member.member_id
    assert authed.member.status == "active" and authed.member.email_address_verified is True
    assert authed.organization_id == org.organization_id
    assert authed.method_id.startswith("member-email-")
    assert authed.intermediate_session_token == ""
    assert [f.type for f in authed.member_session.authentication_factors] == ["email_otp"]
    session = stytch_client.sessions.authenticate(session_token=authed.session_token)
    assert session.member.member_id == authed.member_id
    assert stytch_client.sessions.authenticate_jwt_local(session_jwt=authed.session_jwt) is not None

    # Now active: a login code, and the organization may be named by its slug.
    sent, code = org_code(server, stytch_client, org.organization_slug, email)
    assert sent.member_created is False and sent.member.status == "active"
    again = stytch_client.otps.email.authenticate(
        organization_id=org.organization_slug, email_address=email, code=code, session_token=authed.session_token
    )
    assert again.member_authenticated is True
    # The old session was replaced by one carrying the factor again.
    with pytest.raises(StytchError) as replaced:
        stytch_client.sessions.authenticate(session_token=authed.session_token)
    assert sdk_error(replaced) == (404, "session_not_found")

    # Somebody outside the allowed domain is not provisioned.
    with pytest.raises(StytchError) as outsider:
        stytch_client.otps.email.login_or_signup(organization_id=org.organization_id, email_address="x@elsewhere.org")
    assert sdk_error(outsider) == (400, "invalid_email_for_jit_provisioning")
    # A code of one organization is nothing at another.
    other = stytch_client.organizations.create(organization_name="Other", organization_slug=f"other-{domain[:12]}")
    _, code = org_code(server, stytch_client, org.organization_id, email)
    with pytest.raises(StytchError) as elsewhere:
        stytch_client.otps.email.authenticate(
            organization_id=other.organization.organization_id, email_address=email, code=code
        )
    assert sdk_error(elsewhere) == (404, "otp_code_not_found")


def test_organization_rules_apply_to_email_otp(server, stytch_client):
    domain = f"otp-rules-{secrets.token_hex(3)}.example.com"
    links_only = stytch_client.organizations.create(
        organization_name="Links only",
        organization_slug=f"links-{domain[:14]}",
        email_allowed_domains=[domain],
        email_jit_provisioning="RESTRICTED",
        auth_methods="RESTRICTED",
        allowed_auth_methods=["magic_link"],
    ).organization
    with pytest.raises(StytchError) as restricted:
        stytch_client.otps.email.login_or_signup(
            organization_id=links_only.organization_id, email_address=f"a@{domain}"
        )
    assert sdk_error(restricted) == (403, "operation_restricted_by_organization_auth_methods")

    mfa = stytch_client.organizations.create(
        organization_name="MFA",
        organization_slug=f"mfa-{domain[:14]}",
        email_allowed_domains=[domain],
        email_jit_provisioning="RESTRICTED",
        mfa_policy="REQUIRED_FOR_ALL",
    ).organization
    email = f"b@{domain}"
    _, code = org_code(server, stytch_client, mfa.organization_id, email)
    authed = stytch_client.otps.email.authenticate(organization_id=mfa.organization_id, email_address=email, code=code)
    # Through enter_organization: the email is proven, but the organization wants a second factor.
    assert authed.member_authenticated is False
    assert authed.intermediate_session_token
    assert authed.session_token == "" and authed.member_session is None
    assert authed.mfa_required is not None

    with pytest.raises(StytchError) as unknown_org:
        stytch_client.otps.email.login_or_signup(organization_id="organization-test-nope", email_address=email)
    assert sdk_error(unknown_org) == (404, "organization_not_found")
