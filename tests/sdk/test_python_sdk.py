"""The official Python SDK (``stytch`` 15.3.0, from PyPI) against a real Tenantry process.

Each test runs on SQLite and on PostgreSQL (through the ``server`` fixture). The flow is the
Stytch B2B discovery tutorial: discovery magic link -> authenticate -> create organization ->
session, then colleagues joining by email domain, a returning member, and the error cases.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest
import stytch
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import TenancyError

REDIRECT_URL = "http://localhost:3000/authenticate"
CONTACT = "contact@clinic.com"
NURSE = "nurse@clinic.com"
OUTSIDER = "x@other.org"


def discovery_login(server: Any, client: stytch.B2BClient, email: str) -> Any:
    """Send a discovery magic link, read it from the dev mailbox and authenticate it."""
    already = len(server.mailbox(email))
    sent = client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    assert sent.status_code == 200 and sent.request_id
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token)


def create_clinic(server: Any, client: stytch.B2BClient) -> tuple[Any, Any]:
    """The contact signs up and creates the clinic; returns (discovery response, create response)."""
    auth = discovery_login(server, client, CONTACT)
    created = client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
        organization_external_id="clinic-ext-1",
        trusted_metadata={"plan": "pilot", "beds": 12},
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
        session_duration_minutes=60,
    )
    return auth, created


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def test_contact_creates_clinic_and_gets_a_verifiable_session(server, stytch_client):
    auth, created = create_clinic(server, stytch_client)

    # The first login of a new person discovers nothing and returns an IST.
    assert auth.email_address == CONTACT
    assert auth.intermediate_session_token
    assert auth.discovered_organizations == []

    org, member = created.organization, created.member
    assert created.member_authenticated is True
    assert created.session_token and created.session_jwt
    assert created.intermediate_session_token == ""
    assert org.organization_id.startswith("organization-test-")
    assert (org.organization_name, org.organization_slug) == ("Clinic", "clinic")
    assert org.organization_external_id == "clinic-ext-1"
    assert org.trusted_metadata == {"plan": "pilot", "beds": 12}
    assert org.email_allowed_domains == ["clinic.com"]
    assert org.email_jit_provisioning == "RESTRICTED"
    assert member.member_id.startswith("member-test-") and member.member_id == created.member_id
    assert member.organization_id == org.organization_id
    assert member.email_address == CONTACT
    assert member.status == "active"
    assert member.email_address_verified is True
    assert member.is_admin is True
    assert "stytch_admin" in {role.role_id for role in member.roles}
    assert created.member_session is not None
    assert created.member_session.organization_id == org.organization_id
    assert created.member_session.member_id == member.member_id

    # The session token authenticates remotely ...
    session = stytch_client.sessions.authenticate(session_token=created.session_token)
    assert session.member.member_id == member.member_id
    assert session.organization.organization_id == org.organization_id
    assert session.member_session.member_session_id == created.member_session.member_session_id
    assert "stytch_admin" in session.member_session.roles
    assert session.session_token == created.session_token
    assert session.session_jwt

    # ... and the JWT verifies locally against the server's JWKS, with Stytch's claims.
    local = stytch_client.sessions.authenticate_jwt_local(session_jwt=created.session_jwt)
    assert local is not None, "JWT failed local verification (signature, iss, aud, exp or nbf)"
    assert local.member_id == member.member_id
    assert local.organization_id == org.organization_id
    assert local.organization_slug == "clinic"
    assert local.member_session_id == created.member_session.member_session_id
    assert "stytch_admin" in local.roles
    claims = jwt.decode(created.session_jwt, options={"verify_signature": False})
    assert claims["sub"] == member.member_id
    assert claims["iss"] == f"stytch.com/{server.project_id}"
    assert server.project_id in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert claims["exp"] - claims["iat"] == 300
    assert claims["https://stytch.com/organization"]["organization_id"] == org.organization_id
    header = jwt.get_unverified_header(created.session_jwt)
    assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"]

    # The local RBAC check fetches /v1/b2b/rbac/policy and /v1/b2b/rbac/organizations/{id}:
    # an admin may create members in their own organization ...
    check = AuthorizationCheck(organization_id=org.organization_id, resource_id="stytch.member", action="create")
    checked = stytch_client.sessions.authenticate_jwt_local(session_jwt=created.session_jwt, authorization_check=check)
    assert checked is not None and checked.member_id == member.member_id
    # ... but the check is not a rubber stamp: another organization is refused.
    other = AuthorizationCheck(
        organization_id="organization-test-00000000-0000-4000-8000-000000000000",
        resource_id="stytch.member",
        action="create",
    )
    with pytest.raises(TenancyError):
        stytch_client.sessions.authenticate_jwt_local(session_jwt=created.session_jwt, authorization_check=other)


def test_colleague_joins_by_email_domain_and_outsider_cannot(server, stytch_client):
    _, created = create_clinic(server, stytch_client)
    org_id = created.organization.organization_id

    nurse = discovery_login(server, stytch_client, NURSE)
    assert [d.organization.organization_id for d in nurse.discovered_organizations] == [org_id]
    discovered = nurse.discovered_organizations[0]
    assert discovered.membership.type == "eligible_to_join_by_email_domain"
    assert discovered.membership.details == {"domain": "clinic.com"}
    assert discovered.member_authenticated is True

    joined = stytch_client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=nurse.intermediate_session_token, organization_id=org_id
    )
    assert joined.member_authenticated is True
    assert joined.organization.organization_id == org_id
    assert joined.member.email_address == NURSE
    assert joined.member.status == "active"
    assert joined.member.member_id != created.member_id
    roles = {role.role_id for role in joined.member.roles}
    assert "stytch_admin" not in roles and joined.member.is_admin is False
    session = stytch_client.sessions.authenticate(session_token=joined.session_token)
    assert session.member.member_id == joined.member.member_id
    assert session.organization.organization_id == org_id

    outsider = discovery_login(server, stytch_client, OUTSIDER)
    assert outsider.discovered_organizations == []
    with pytest.raises(StytchError) as excinfo:
        stytch_client.discovery.intermediate_sessions.exchange(
            intermediate_session_token=outsider.intermediate_session_token, organization_id=org_id
        )
    status, error_type = error_of(excinfo)
    assert 400 <= status < 500
    assert error_type in {"invalid_email_for_jit_provisioning", "email_jit_provisioning_not_allowed"}


def test_returning_contact_sees_clinic_as_active_member(server, stytch_client):
    _, created = create_clinic(server, stytch_client)
    org_id = created.organization.organization_id

    again = discovery_login(server, stytch_client, CONTACT)
    assert [d.organization.organization_id for d in again.discovered_organizations] == [org_id]
    discovered = again.discovered_organizations[0]
    assert discovered.membership.type == "active_member"
    assert discovered.membership.member.member_id == created.member_id
    assert discovered.member_authenticated is True

    # Listing does not consume the IST; exchanging it does and logs the same member in.
    listed = stytch_client.discovery.organizations.list(intermediate_session_token=again.intermediate_session_token)
    assert [d.organization.organization_id for d in listed.discovered_organizations] == [org_id]
    exchanged = stytch_client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=again.intermediate_session_token, organization_id=org_id
    )
    assert exchanged.member_authenticated is True
    assert exchanged.member_id == created.member_id
    assert exchanged.session_token and exchanged.session_token != created.session_token
    session = stytch_client.sessions.authenticate(session_token=exchanged.session_token)
    assert session.member.member_id == created.member_id


def test_tutorial_step_4_after_step_3_is_intermediate_session_not_found(server, stytch_client):
    """Create already consumed the IST and returned the session; exchanging it again is a 404."""
    auth, created = create_clinic(server, stytch_client)
    with pytest.raises(StytchError) as excinfo:
        stytch_client.discovery.intermediate_sessions.exchange(
            intermediate_session_token=auth.intermediate_session_token,
            organization_id=created.organization.organization_id,
        )
    assert error_of(excinfo) == (404, "intermediate_session_not_found")


def test_magic_link_is_single_use(server, stytch_client):
    stytch_client.magic_links.email.discovery.send(email_address=CONTACT, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(CONTACT)
    first = stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    assert first.email_address == CONTACT
    with pytest.raises(StytchError) as excinfo:
        stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    assert error_of(excinfo) == (401, "unable_to_auth_magic_link")


def test_unknown_magic_link_token_is_not_found(server, stytch_client):
    with pytest.raises(StytchError) as excinfo:
        stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=secrets.token_urlsafe(32))
    assert error_of(excinfo) == (404, "magic_link_not_found")


def test_wrong_secret_is_unauthorized(server, stytch_client_factory):
    client = stytch_client_factory(server, secret="secret-test-" + secrets.token_urlsafe(24))
    with pytest.raises(StytchError) as excinfo:
        client.magic_links.email.discovery.send(email_address=CONTACT, discovery_redirect_url=REDIRECT_URL)
    assert error_of(excinfo) == (401, "unauthorized_credentials")
    assert server.mailbox(CONTACT) == []


def test_projects_do_not_see_each_others_organizations(server, stytch_client, stytch_client_factory):
    _, created = create_clinic(server, stytch_client)
    org_id = created.organization.organization_id
    a_again = discovery_login(server, stytch_client, CONTACT)

    b_id, b_secret = server.create_project("Project B")
    assert b_id != server.project_id
    client_b = stytch_client_factory(server, project_id=b_id, secret=b_secret)

    # The same person in project B discovers nothing: A's clinic is invisible there.
    in_b = discovery_login(server, client_b, CONTACT)
    assert in_b.discovered_organizations == []
    listed = client_b.discovery.organizations.list(intermediate_session_token=in_b.intermediate_session_token)
    assert listed.discovered_organizations == []

    # B cannot exchange into A's organization, by id or by slug.
    for ref in (org_id, "clinic"):
        with pytest.raises(StytchError) as excinfo:
            client_b.discovery.intermediate_sessions.exchange(
                intermediate_session_token=in_b.intermediate_session_token, organization_id=ref
            )
        assert 400 <= error_of(excinfo)[0] < 500

    # A's tokens mean nothing to B's credentials.
    with pytest.raises(StytchError) as excinfo:
        client_b.discovery.organizations.list(intermediate_session_token=a_again.intermediate_session_token)
    assert error_of(excinfo) == (404, "intermediate_session_not_found")
    with pytest.raises(StytchError) as excinfo:
        client_b.sessions.authenticate(session_token=created.session_token)
    assert error_of(excinfo) == (404, "session_not_found")
    # A's IST is still usable in A: B's failed attempts did not consume it.
    listed_a = stytch_client.discovery.organizations.list(intermediate_session_token=a_again.intermediate_session_token)
    assert [d.organization.organization_id for d in listed_a.discovered_organizations] == [org_id]
