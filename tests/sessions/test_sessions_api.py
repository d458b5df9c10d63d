"""Listing, revoking and exchanging member sessions, and session lifetime, through the official
Python SDK against a real server (each test on SQLite and PostgreSQL).

People: the contact owns two clinics (``clinic`` and ``annex``, so one email, two memberships);
a nurse joined ``clinic`` by email domain (plain member); the lab owner runs an unrelated ``lab``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
import stytch
from stytch.b2b.models.sessions import RevokeRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from tenantry.db.schema import member_sessions, members, organizations

REDIRECT_URL = "http://localhost:3000/authenticate"
CONTACT = "contact@clinic.com"
NURSE = "nurse@clinic.com"
LAB_OWNER = "owner@lab.org"
ORG_CLAIM = "https://stytch.com/organization"


def discovery_login(server: Any, client: stytch.B2BClient, email: str) -> Any:
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token)


def create_org(server: Any, client: stytch.B2BClient, email: str, slug: str, **settings: Any) -> Any:
    auth = discovery_login(server, client, email)
    created = client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name=slug.title(),
        organization_slug=slug,
        session_duration_minutes=60,
        **settings,
    )
    assert created.member_authenticated is True
    return created


def join_by_domain(server: Any, client: stytch.B2BClient, email: str, organization_id: str) -> Any:
    auth = discovery_login(server, client, email)
    joined = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=auth.intermediate_session_token, organization_id=organization_id
    )
    assert joined.member_authenticated is True
    return joined


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def as_member(session_token: str) -> RevokeRequestOptions:
    return RevokeRequestOptions(authorization=Authorization(session_token=session_token))


def db(server: Any) -> sa.Engine:
    return sa.create_engine(server.database_url)


def assert_alive(client: stytch.B2BClient, token: str) -> None:
    assert client.sessions.authenticate(session_token=token).member_session is not None


def assert_gone(client: stytch.B2BClient, token: str) -> None:
    with pytest.raises(StytchError) as exc:
        client.sessions.authenticate(session_token=token)
    assert error_of(exc) == (404, "session_not_found")


@pytest.fixture
def world(server, stytch_client) -> dict[str, Any]:
    clinic = create_org(
        server,
        stytch_client,
        CONTACT,
        "clinic",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    annex = create_org(server, stytch_client, CONTACT, "annex")
    nurse = join_by_domain(server, stytch_client, NURSE, clinic.organization.organization_id)
    lab = create_org(server, stytch_client, LAB_OWNER, "lab")
    return {"clinic": clinic, "annex": annex, "nurse": nurse, "lab": lab}


# -- list --------------------------------------------------------------------------------------


def test_list_shows_only_that_members_live_sessions(server, stytch_client, world):
    clinic, nurse = world["clinic"], world["nurse"]
    org_id, member_id = clinic.organization.organization_id, clinic.member_id
    second = stytch_client.sessions.exchange(
        organization_id=org_id, session_token=clinic.session_token, session_duration_minutes=30
    )
    third = stytch_client.sessions.exchange(organization_id=org_id, session_token=clinic.session_token)
    stytch_client.sessions.revoke(session_token=third.session_token)

    listed = stytch_client.sessions.get(organization_id=org_id, member_id=member_id)
    ids = {s.member_session_id for s in listed.member_sessions}
    # Live sessions of this member in this org; not the revoked one, not the nurse's, not annex's.
    assert ids == {clinic.member_session.member_session_id, second.member_session.member_session_id}
    for s in listed.member_sessions:
        assert s.member_id == member_id and s.organization_id == org_id
        assert s.organization_slug == "clinic"
        assert s.roles == ["stytch_member", "stytch_admin"]
        assert s.authentication_factors[0].type == "magic_link"

    # The organization may be named by slug.
    by_slug = stytch_client.sessions.get(organization_id="clinic", member_id=nurse.member_id)
    assert [s.member_session_id for s in by_slug.member_sessions] == [nurse.member_session.member_session_id]

    # A member of another organization is not found through this one.
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.get(organization_id=org_id, member_id=world["lab"].member_id)
    assert error_of(exc) == (404, "member_not_found")
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.get(organization_id="no-such-org", member_id=member_id)
    assert error_of(exc) == (404, "organization_not_found")


# -- revoke ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["member_session_id", "session_token", "session_jwt"])
def test_revoke_one_session_by_each_argument(server, stytch_client, world, kind):
    clinic = world["clinic"]
    other = stytch_client.sessions.exchange(
        organization_id=clinic.organization.organization_id, session_token=clinic.session_token
    )
    arg = {
        "member_session_id": clinic.member_session.member_session_id,
        "session_token": clinic.session_token,
        "session_jwt": clinic.session_jwt,
    }[kind]
    resp = stytch_client.sessions.revoke(**{kind: arg})
    assert resp.status_code == 200 and resp.request_id

    assert_gone(stytch_client, clinic.session_token)
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.authenticate(session_jwt=clinic.session_jwt)
    assert error_of(exc) == (404, "session_not_found")
    # Only the named session: the member's other session lives on.
    assert_alive(stytch_client, other.session_token)
    # Revoking it again finds nothing.
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(**{kind: arg})
    assert error_of(exc) == (404, "session_not_found")


def test_revoke_by_member_id_ends_every_session_of_that_member_only(server, stytch_client, world):
    clinic, annex, nurse = world["clinic"], world["annex"], world["nurse"]
    other = stytch_client.sessions.exchange(
        organization_id=clinic.organization.organization_id, session_token=clinic.session_token
    )
    stytch_client.sessions.revoke(member_id=clinic.member_id)
    assert_gone(stytch_client, clinic.session_token)
    assert_gone(stytch_client, other.session_token)
    # Same person, other organization (another member record): untouched; so is the nurse.
    assert_alive(stytch_client, annex.session_token)
    assert_alive(stytch_client, nurse.session_token)
    listed = stytch_client.sessions.get(organization_id=clinic.organization.organization_id, member_id=clinic.member_id)
    assert listed.member_sessions == []


def test_revoke_argument_count(server, stytch_client, world):
    clinic = world["clinic"]
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke()
    assert error_of(exc) == (400, "no_session_revoke_arguments")
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(session_token=clinic.session_token, member_id=clinic.member_id)
    assert error_of(exc) == (400, "too_many_session_revoke_arguments")
    assert_alive(stytch_client, clinic.session_token)
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(member_id="member-test-00000000-0000-0000-0000-000000000000")
    assert error_of(exc) == (404, "member_not_found")


def test_revoke_with_member_session_header_is_checked(server, stytch_client, world):
    clinic, nurse, lab = world["clinic"], world["nurse"], world["lab"]

    # Another organization's admin cannot touch the clinic's sessions: refused, nothing changed.
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(member_id=clinic.member_id, method_options=as_member(lab.session_token))
    assert exc.value.details.status_code in (403, 404)
    with pytest.raises(StytchError):
        stytch_client.sessions.revoke(session_token=clinic.session_token, method_options=as_member(lab.session_token))
    assert_alive(stytch_client, clinic.session_token)

    # A plain member may not revoke a colleague's sessions (needs stytch.member revoke-sessions).
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(member_id=clinic.member_id, method_options=as_member(nurse.session_token))
    assert error_of(exc) == (403, "session_authorization_error")
    assert_alive(stytch_client, clinic.session_token)

    # An admin may; and anyone may end their own sessions (stytch.self revoke-sessions).
    nurse_again = join_by_domain(server, stytch_client, NURSE, clinic.organization.organization_id)
    stytch_client.sessions.revoke(member_id=nurse.member_id, method_options=as_member(clinic.session_token))
    assert_gone(stytch_client, nurse.session_token)
    assert_gone(stytch_client, nurse_again.session_token)
    assert_alive(stytch_client, clinic.session_token)

    nurse_third = join_by_domain(server, stytch_client, NURSE, clinic.organization.organization_id)
    stytch_client.sessions.revoke(
        session_token=nurse_third.session_token, method_options=as_member(nurse_third.session_token)
    )
    assert_gone(stytch_client, nurse_third.session_token)


# -- exchange ----------------------------------------------------------------------------------


def test_exchange_between_two_organizations_of_the_same_person(server, stytch_client, world):
    clinic, annex = world["clinic"], world["annex"]
    switched = stytch_client.sessions.exchange(
        organization_id=annex.organization.organization_id,
        session_token=clinic.session_token,
        session_duration_minutes=30,
    )
    assert switched.member_authenticated is True
    assert switched.intermediate_session_token == ""
    assert switched.organization.organization_id == annex.organization.organization_id
    assert switched.member_id == annex.member_id != clinic.member_id
    assert switched.member.email_address == CONTACT
    # A fresh session, never the one presented nor the one the target org already had.
    assert switched.session_token not in (clinic.session_token, annex.session_token)
    assert switched.member_session.member_session_id not in (
        clinic.member_session.member_session_id,
        annex.member_session.member_session_id,
    )
    assert switched.member_session.organization_id == annex.organization.organization_id
    # The email factor travels, re-bound to the target membership's email id.
    factor = switched.member_session.authentication_factors[0]
    assert factor.type == "magic_link" and factor.email_factor.email_address == CONTACT
    assert factor.email_factor.email_id == annex.member_session.authentication_factors[0].email_factor.email_id
    assert factor.email_factor.email_id != clinic.member_session.authentication_factors[0].email_factor.email_id

    old_claims = jwt.decode(clinic.session_jwt, options={"verify_signature": False})
    new_claims = jwt.decode(switched.session_jwt, options={"verify_signature": False})
    assert old_claims[ORG_CLAIM] == {"organization_id": clinic.organization.organization_id, "slug": "clinic"}
    assert new_claims[ORG_CLAIM] == {"organization_id": annex.organization.organization_id, "slug": "annex"}
    assert new_claims["sub"] == annex.member_id

    # The JWT works too, the organization may be named by slug, and every exchange is a new session.
    again = stytch_client.sessions.exchange(organization_id="clinic", session_jwt=switched.session_jwt)
    assert again.organization.organization_id == clinic.organization.organization_id
    assert again.session_token != clinic.session_token
    authed = stytch_client.sessions.authenticate(session_token=again.session_token)
    assert authed.organization.organization_slug == "clinic"
    assert_alive(stytch_client, clinic.session_token)


def test_exchange_into_an_organization_the_member_does_not_belong_to_is_refused(server, stytch_client, world):
    clinic, lab = world["clinic"], world["lab"]
    engine = db(server)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(member_sessions)).scalar()
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.exchange(
            organization_id=lab.organization.organization_id, session_token=clinic.session_token
        )
    assert error_of(exc) == (404, "member_does_not_exist_in_organization")
    # Not even by email domain: the nurse cannot enter annex (no membership, no JIT by exchange).
    with engine.begin() as conn:
        conn.execute(
            organizations.update()
            .where(organizations.c.organization_id == world["annex"].organization.organization_id)
            .values(
                settings={
                    **dict(
                        conn.execute(
                            sa.select(organizations.c.settings).where(
                                organizations.c.organization_id == world["annex"].organization.organization_id
                            )
                        ).scalar_one()
                    ),
                    "email_allowed_domains": ["clinic.com"],
                    "email_jit_provisioning": "RESTRICTED",
                }
            )
        )
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.exchange(organization_id="annex", session_token=world["nurse"].session_token)
    assert error_of(exc) == (404, "member_does_not_exist_in_organization")
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.exchange(organization_id="nowhere", session_token=clinic.session_token)
    assert error_of(exc) == (404, "organization_not_found")
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.exchange(organization_id="annex", session_token="not-a-session-token-at-all-xxxx")
    assert error_of(exc) == (404, "session_not_found")
    with engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(member_sessions)).scalar()
        nurse_in_annex = conn.execute(
            sa.select(members.c.member_id).where(
                members.c.email_address == NURSE,
                members.c.organization_id == world["annex"].organization.organization_id,
            )
        ).first()
    engine.dispose()
    assert after == before and nurse_in_annex is None


def test_exchange_accepts_a_pending_invitation(server, stytch_client, world):
    clinic, lab = world["clinic"], world["lab"]
    invited = stytch_client.magic_links.email.invite(
        organization_id=lab.organization.organization_id, email_address=CONTACT
    )
    assert invited.member.status == "invited"
    switched = stytch_client.sessions.exchange(
        organization_id=lab.organization.organization_id, session_token=clinic.session_token
    )
    assert switched.member_authenticated is True
    assert switched.member_id == invited.member_id
    assert switched.member.status == "active"


def test_exchange_into_an_organization_requiring_mfa_returns_an_intermediate_session(server, stytch_client, world):
    clinic, annex = world["clinic"], world["annex"]
    engine = db(server)
    with engine.begin() as conn:
        settings = dict(
            conn.execute(
                sa.select(organizations.c.settings).where(
                    organizations.c.organization_id == annex.organization.organization_id
                )
            ).scalar_one()
        )
        conn.execute(
            organizations.update()
            .where(organizations.c.organization_id == annex.organization.organization_id)
            .values(settings={**settings, "mfa_policy": "REQUIRED_FOR_ALL"})
        )
    engine.dispose()
    switched = stytch_client.sessions.exchange(
        organization_id=annex.organization.organization_id, session_token=clinic.session_token
    )
    assert switched.member_authenticated is False
    assert switched.intermediate_session_token
    assert switched.session_token == "" and switched.session_jwt == ""
    assert switched.member_session is None
    assert switched.mfa_required is not None
    assert switched.member_id == annex.member_id
    # The original session is untouched.
    assert_alive(stytch_client, clinic.session_token)


# -- lifetime ----------------------------------------------------------------------------------


def test_expired_session_is_not_found(server, stytch_client, world):
    clinic = world["clinic"]
    short = stytch_client.sessions.exchange(
        organization_id=clinic.organization.organization_id,
        session_token=clinic.session_token,
        session_duration_minutes=5,
    )
    expires = short.member_session.expires_at
    started = short.member_session.started_at
    assert timedelta(minutes=5) - timedelta(seconds=2) <= expires - started <= timedelta(minutes=5, seconds=2)
    assert_alive(stytch_client, short.session_token)

    # Simulate the passage of time: the server runs on the real clock.
    engine = db(server)
    with engine.begin() as conn:
        conn.execute(
            member_sessions.update()
            .where(member_sessions.c.member_session_id == short.member_session.member_session_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    engine.dispose()
    assert_gone(stytch_client, short.session_token)
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.authenticate(session_jwt=short.session_jwt)
    assert error_of(exc) == (404, "session_not_found")
    listed = stytch_client.sessions.get(organization_id="clinic", member_id=clinic.member_id)
    assert short.member_session.member_session_id not in {s.member_session_id for s in listed.member_sessions}
    # An expired session cannot be exchanged either.
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.exchange(organization_id="annex", session_token=short.session_token)
    assert error_of(exc) == (404, "session_not_found")
    assert_alive(stytch_client, clinic.session_token)
