"""Tutorial step 5: a clinic admin invites staff by magic link; each invitee lands in the
clinic with the role they were given. Plus the ways an invitation must be refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stytch.b2b.models.magic_links_email import InviteRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization


def _clinic_admin(server: Any, client: Any, email: str, slug: str, **org: Any) -> Any:
    client.magic_links.email.discovery.send(email_address=email)
    ist = client.magic_links.discovery.authenticate(
        discovery_magic_links_token=server.latest_link_token(email)
    ).intermediate_session_token
    return client.discovery.organizations.create(
        intermediate_session_token=ist, organization_name=slug.title(), organization_slug=slug, **org
    )


def _as(session_token: str) -> InviteRequestOptions:
    return InviteRequestOptions(authorization=Authorization(session_token=session_token))


def _error(call: Callable[[], Any]) -> Any:
    with pytest.raises(StytchError) as caught:
        call()
    return caught.value.details


def test_step5_admin_invites_three_and_each_lands_with_their_role(server: Any, stytch_client: Any) -> None:
    admin = _clinic_admin(server, stytch_client, "contact@clinic.com", "sunrise")
    org_id = admin.organization.organization_id
    team = {"doctor@clinic.com": ["stytch_admin"], "nurse@clinic.com": [], "frontdesk@clinic.com": []}
    for email, roles in team.items():
        invited = stytch_client.magic_links.email.invite(
            organization_id=org_id, email_address=email, roles=roles, method_options=_as(admin.session_token)
        )
        assert invited.member.status == "invited"
        assert invited.member.email_address_verified is False

    # Before accepting, discovery shows the invitation.
    stytch_client.magic_links.email.discovery.send(email_address="nurse@clinic.com")
    found = stytch_client.magic_links.discovery.authenticate(
        discovery_magic_links_token=server.latest_link_token("nurse@clinic.com", count=2)
    ).discovered_organizations
    assert [(d.organization.organization_id, d.membership.type) for d in found] == [(org_id, "invited_member")]

    for email, roles in team.items():
        # The invitation is the oldest mail of that person; the nurse also has a discovery mail.
        invite_mail = server.mailbox(email)[-1]
        assert "invited" in invite_mail["text"]
        assert "stytch_token_type=multi_tenant_magic_links" in invite_mail["links"][0]
        accepted = stytch_client.magic_links.authenticate(
            magic_links_token=_token(invite_mail["links"][0]), session_duration_minutes=60
        )
        assert accepted.member_authenticated is True
        assert accepted.member.status == "active"
        assert accepted.member.email_address_verified is True
        assert [r.role_id for r in accepted.member.roles] == ["stytch_member", *roles]
        session = stytch_client.sessions.authenticate(session_token=accepted.session_token)
        assert session.member_session.roles == ["stytch_member", *roles]
        assert session.organization.organization_id == org_id


def _token(link: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(link).query)["token"][0]


def test_refusals_change_nothing(server: Any, stytch_client: Any) -> None:
    admin = _clinic_admin(server, stytch_client, "contact@clinic.com", "sunrise")
    org_id = admin.organization.organization_id
    stytch_client.magic_links.email.invite(
        organization_id=org_id, email_address="nurse@clinic.com", method_options=_as(admin.session_token)
    )
    nurse = stytch_client.magic_links.authenticate(magic_links_token=server.latest_link_token("nurse@clinic.com"))
    other = _clinic_admin(server, stytch_client, "boss@other-clinic.org", "other")

    # A plain member may not invite: 403.
    denied = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=org_id, email_address="x@clinic.com", method_options=_as(nurse.session_token)
        )
    )
    assert (denied.status_code, denied.error_type) == (403, "session_authorization_error")
    # Another clinic's admin learns nothing about this clinic: 404, as for a random id.
    foreign = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=org_id, email_address="x@clinic.com", method_options=_as(other.session_token)
        )
    )
    assert (foreign.status_code, foreign.error_type) == (404, "organization_not_found")
    # A revoked or unknown session: 401.
    dead = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=org_id, email_address="x@clinic.com", method_options=_as("not-a-session")
        )
    )
    assert (dead.status_code, dead.error_type) == (401, "unauthorized_credentials")
    # A member cannot hand out a role it does not hold itself.
    stytch_client.magic_links.email.invite(
        organization_id=org_id, email_address="doc@clinic.com", roles=["stytch_admin"]
    )
    escalation = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=org_id,
            email_address="y@clinic.com",
            roles=["stytch_admin"],
            method_options=_as(nurse.session_token),
        )
    )
    assert escalation.status_code == 403

    assert server.mailbox("x@clinic.com") == []
    assert server.mailbox("y@clinic.com") == []
    listed = stytch_client.discovery.organizations.list(session_token=admin.session_token)
    assert listed.email_address == "contact@clinic.com"

    # Inviting someone who is already active is refused clearly.
    active = _error(
        lambda: stytch_client.magic_links.email.invite(organization_id=org_id, email_address="nurse@clinic.com")
    )
    assert (active.status_code, active.error_type) == (400, "duplicate_member_email")


def test_reinvite_retires_the_previous_link(server: Any, stytch_client: Any) -> None:
    admin = _clinic_admin(server, stytch_client, "contact@clinic.com", "sunrise")
    org_id = admin.organization.organization_id
    stytch_client.magic_links.email.invite(organization_id=org_id, email_address="nurse@clinic.com")
    first = server.latest_link_token("nurse@clinic.com")
    stytch_client.magic_links.email.invite(organization_id=org_id, email_address="nurse@clinic.com")
    second = server.latest_link_token("nurse@clinic.com", count=2)
    assert first != second
    old = _error(lambda: stytch_client.magic_links.authenticate(magic_links_token=first))
    assert (old.status_code, old.error_type) == (401, "unable_to_auth_magic_link")
    assert stytch_client.magic_links.authenticate(magic_links_token=second).member.status == "active"


def test_email_invites_policy(server: Any, stytch_client: Any) -> None:
    restricted = _clinic_admin(
        server,
        stytch_client,
        "contact@clinic.com",
        "restricted",
        email_invites="RESTRICTED",
        email_allowed_domains=["clinic.com"],
    )
    ok = stytch_client.magic_links.email.invite(
        organization_id=restricted.organization.organization_id, email_address="nurse@clinic.com"
    )
    assert ok.member.status == "invited"
    outside = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=restricted.organization.organization_id, email_address="someone@elsewhere.org"
        )
    )
    assert (outside.status_code, outside.error_type) == (400, "invalid_email_for_invites")

    closed = _clinic_admin(server, stytch_client, "owner@closed.org", "closed", email_invites="NOT_ALLOWED")
    refused = _error(
        lambda: stytch_client.magic_links.email.invite(
            organization_id=closed.organization.organization_id, email_address="nurse@closed.org"
        )
    )
    assert (refused.status_code, refused.error_type) == (400, "invalid_email_for_invites")
    assert server.mailbox("someone@elsewhere.org") == []


def test_login_or_signup_honours_jit_and_links_are_bound_to_their_flow(server: Any, stytch_client: Any) -> None:
    admin = _clinic_admin(
        server,
        stytch_client,
        "contact@clinic.com",
        "sunrise",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    org_id = admin.organization.organization_id
    login = stytch_client.magic_links.email.login_or_signup(organization_id=org_id, email_address="contact@clinic.com")
    assert login.member_created is False
    signup = stytch_client.magic_links.email.login_or_signup(organization_id="sunrise", email_address="new@clinic.com")
    assert (signup.member_created, signup.member.status) == (True, "pending")
    outsider = _error(
        lambda: stytch_client.magic_links.email.login_or_signup(organization_id=org_id, email_address="a@other.org")
    )
    assert (outsider.status_code, outsider.error_type) == (400, "invalid_email_for_jit_provisioning")

    joined = stytch_client.magic_links.authenticate(magic_links_token=server.latest_link_token("new@clinic.com"))
    assert (joined.member.status, joined.member_authenticated) == ("active", True)
    assert joined.member_session.authentication_factors[0].type.value == "magic_link"

    # An organization link is not a discovery link, and the other way round.
    discovery_token_holder = "other@clinic.com"
    stytch_client.magic_links.email.discovery.send(email_address=discovery_token_holder)
    discovery_token = server.latest_link_token(discovery_token_holder)
    wrong_flow = _error(lambda: stytch_client.magic_links.authenticate(magic_links_token=discovery_token))
    assert (wrong_flow.status_code, wrong_flow.error_type) == (404, "magic_link_not_found")
    assert stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=discovery_token)
