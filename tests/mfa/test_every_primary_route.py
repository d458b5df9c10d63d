"""An organization that requires MFA never gets a session out of a primary factor alone, whichever
route the primary factor came through: discovery create (with REQUIRED_FOR_ALL in the create
call), discovery exchange, magic-link authenticate for a login, a signup and an invitation, with
a discovery IST and with another organization's session, email OTP authenticate, and session
exchange. Each answer is checked on the wire, each IST is then completed with a recovery code or
TOTP, and finally every session row the organization ever got is read from the database: each
carries a second factor."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import stytch

from mfa.helpers import (
    REDIRECT_URL,
    SECOND_FACTOR_TYPES,
    discovery_login,
    factor_types,
    sessions_of_organization,
    settle,
)

ADMIN = "admin@clinic.com"
CODE_RE = re.compile(r"(?m)^\s*(\d{6})\s*$")


def assert_held_back(resp: Any, *, ist: str | None = None) -> None:
    """The primary factor was accepted, and nothing but an IST came of it."""
    assert resp.status_code == 200
    assert resp.member_authenticated is False
    assert resp.session_token == "" and resp.session_jwt == ""
    assert resp.member_session is None
    assert resp.intermediate_session_token
    if ist is not None:
        assert resp.intermediate_session_token == ist
    assert resp.mfa_required is not None


def link_token(server: Any, email: str, count: int) -> str:
    return server.latest_link_token(email, count=count)


def otp_code(server: Any, email: str, count: int) -> str:
    text = server.wait_for_mail(email, count=count)[0]["text"]
    found = set(CODE_RE.findall(text))
    assert len(found) == 1, text
    return found.pop()


def test_no_primary_route_issues_a_session_without_the_second_factor(server, stytch_client):
    client: stytch.B2BClient = stytch_client

    def next_mail(email: str) -> int:
        """How many mails ``email`` will have once the one about to be sent arrives."""
        return len(server.mailbox(email)) + 1

    # 1. Discovery create with REQUIRED_FOR_ALL in the create call: the creator must enrol first.
    first = discovery_login(server, client, ADMIN)
    created = client.discovery.organizations.create(
        intermediate_session_token=first.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
        email_invites="ALL_ALLOWED",
        mfa_policy="REQUIRED_FOR_ALL",
    )
    assert_held_back(created, ist=first.intermediate_session_token)
    assert created.organization.mfa_policy == "REQUIRED_FOR_ALL"
    assert created.mfa_required.member_options is None
    org_id, admin_id = created.organization.organization_id, created.member_id
    enrolment = client.totps.create(
        organization_id=org_id, member_id=admin_id, intermediate_session_token=created.intermediate_session_token
    )
    settle()
    admin_session = client.totps.authenticate(
        organization_id=org_id,
        member_id=admin_id,
        code=pyotp.TOTP(enrolment.secret).now(),
        intermediate_session_token=created.intermediate_session_token,
    )
    codes = iter(enrolment.recovery_codes)
    completed = 1

    def complete(resp: Any, member_id: str = admin_id) -> Any:
        nonlocal completed
        done = client.recovery_codes.recover(
            organization_id=org_id,
            member_id=member_id,
            recovery_code=next(codes),
            intermediate_session_token=resp.intermediate_session_token,
        )
        completed += 1
        assert {"recovery_codes"} <= factor_types(done.member_session.authentication_factors)
        return done

    # 2. Discovery exchange.
    login = discovery_login(server, client, ADMIN)
    [listed] = login.discovered_organizations
    assert listed.member_authenticated is False
    assert listed.mfa_required.member_options.totp_registration_id == enrolment.totp_registration_id
    exchanged = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=login.intermediate_session_token, organization_id=org_id
    )
    assert_held_back(exchanged, ist=login.intermediate_session_token)
    assert exchanged.mfa_required.member_options.totp_registration_id == enrolment.totp_registration_id
    assert factor_types(complete(exchanged).member_session.authentication_factors) == {"magic_link", "recovery_codes"}

    # 3. Magic-link authenticate of a login link (the admin is active).
    n = next_mail(ADMIN)
    client.magic_links.email.login_or_signup(organization_id=org_id, email_address=ADMIN)
    by_link = client.magic_links.authenticate(magic_links_token=link_token(server, ADMIN, n))
    assert_held_back(by_link)
    complete(by_link)

    # 4. The same with a discovery IST passed along, and 5. with a session of another
    # organization (ignored, as on Stytch): neither counts as a second factor.
    other_login = discovery_login(server, client, ADMIN)
    n = next_mail(ADMIN)
    client.magic_links.email.login_or_signup(organization_id=org_id, email_address=ADMIN)
    with_ist = client.magic_links.authenticate(
        magic_links_token=link_token(server, ADMIN, n),
        intermediate_session_token=other_login.intermediate_session_token,
    )
    assert_held_back(with_ist)
    other_org = discovery_login(server, client, ADMIN)
    elsewhere = client.discovery.organizations.create(
        intermediate_session_token=other_org.intermediate_session_token,
        organization_name="Research",
        organization_slug="research",
    )
    assert elsewhere.member_authenticated is True  # OPTIONAL there
    n = next_mail(ADMIN)
    client.magic_links.email.login_or_signup(organization_id=org_id, email_address=ADMIN)
    with_session = client.magic_links.authenticate(
        magic_links_token=link_token(server, ADMIN, n), session_token=elsewhere.session_token
    )
    assert_held_back(with_session)

    # 6. Session exchange from the other organization.
    switched = client.sessions.exchange(organization_id=org_id, session_token=elsewhere.session_token)
    assert_held_back(switched)
    assert factor_types(complete(switched).member_session.authentication_factors) == {"magic_link", "recovery_codes"}

    # 7. Magic-link authenticate of a signup link (a new member joining by domain).
    newcomer = "newcomer@clinic.com"
    n = next_mail(newcomer)
    signup = client.magic_links.email.login_or_signup(organization_id=org_id, email_address=newcomer)
    assert signup.member_created is True
    joined = client.magic_links.authenticate(magic_links_token=link_token(server, newcomer, n))
    assert_held_back(joined)
    assert joined.mfa_required.member_options is None
    assert joined.member.status == "active"

    # 8. Magic-link authenticate of an invitation.
    guest = "locum@partner.org"
    n = next_mail(guest)
    client.magic_links.email.invite(organization_id=org_id, email_address=guest, invite_redirect_url=REDIRECT_URL)
    invited = client.magic_links.authenticate(magic_links_token=link_token(server, guest, n))
    assert_held_back(invited)
    # The guest enrols with the IST and only then has a session.
    guest_totp = client.totps.create(
        organization_id=org_id,
        member_id=invited.member_id,
        intermediate_session_token=invited.intermediate_session_token,
    )
    settle()
    guest_session = client.totps.authenticate(
        organization_id=org_id,
        member_id=invited.member_id,
        code=pyotp.TOTP(guest_totp.secret).now(),
        intermediate_session_token=invited.intermediate_session_token,
    )
    completed += 1
    assert factor_types(guest_session.member_session.authentication_factors) == {"magic_link", "totp"}

    # 9. Email OTP authenticate (organization login by code).
    n = next_mail(ADMIN)
    client.otps.email.login_or_signup(organization_id=org_id, email_address=ADMIN)
    by_code = client.otps.email.authenticate(
        organization_id=org_id, email_address=ADMIN, code=otp_code(server, ADMIN, n)
    )
    assert_held_back(by_code)
    assert factor_types(complete(by_code).member_session.authentication_factors) == {"email_otp", "recovery_codes"}

    # 10. Email OTP discovery, then exchange.
    n = next_mail(ADMIN)
    client.otps.email.discovery.send(email_address=ADMIN)
    otp_login = client.otps.email.discovery.authenticate(email_address=ADMIN, code=otp_code(server, ADMIN, n))
    # The admin belongs to both clinics, possibly created in the same second: pick by id.
    (at_clinic,) = [d for d in otp_login.discovered_organizations if d.organization.organization_id == org_id]
    assert at_clinic.member_authenticated is False
    otp_exchange = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=otp_login.intermediate_session_token, organization_id=org_id
    )
    assert_held_back(otp_exchange, ist=otp_login.intermediate_session_token)

    # The admin's session from enrolment still works, and it carries the TOTP factor.
    assert "totp" in factor_types(
        client.sessions.authenticate(session_token=admin_session.session_token).member_session.authentication_factors
    )

    # Every session the clinic ever got carries a second factor; the other org's did not need one.
    issued = sessions_of_organization(server, org_id)
    assert len(issued) == completed
    for factors in issued:
        assert factor_types(factors) & SECOND_FACTOR_TYPES, factors
    assert sessions_of_organization(server, elsewhere.organization.organization_id)
