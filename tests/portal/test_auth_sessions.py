"""Sessions that fit a clinic: idle timeout and absolute lifetime enforced by the portal server,
sign out, sign out everywhere, and invitations becoming active members (audited)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from stytch.core.response_base import StytchError

from tenantry.db.engine import create_engine
from tenantry.portal.audit import log as audit
from tenantry.portal.audit import query
from tenantry.portal.signing import Signer

from .conftest import PortalSite, PortalUser


def _actions(site: PortalSite, organization_id: str) -> list[str]:
    engine = create_engine(site.server.database_url)
    try:
        return [e["action"] for e in reversed(query.search(engine, organization_id=organization_id))]
    finally:
        engine.dispose()


def _session_token(site: PortalSite, user: PortalUser) -> str:
    signer = Signer([SecretStr(site.credentials()["TENANTRY_PORTAL_COOKIE_KEYS"])])
    payload = signer.unsign("session", user.http.cookies.get("portal-session"))
    assert payload is not None
    return str(payload["t"])


def _pretend_idle(site: PortalSite, user: PortalUser, seconds: int) -> None:
    """The browser's last request was ``seconds`` ago: re-sign its cookie as the portal would have."""
    signer = Signer([SecretStr(site.credentials()["TENANTRY_PORTAL_COOKIE_KEYS"])])
    value = signer.sign("session", {"t": _session_token(site, user), "a": int(time.time()) - seconds})
    user.http.cookies.set("portal-session", value, domain="127.0.0.1", path="/")


def test_idle_timeout_signs_out_and_revokes_the_session(portal_site: PortalSite) -> None:
    user = portal_site.user()
    home = user.create_clinic("idle@clinic.example", idle_timeout_minutes="2", absolute_lifetime_minutes="60")
    assert "after 2 minutes without activity" in home.text
    token = _session_token(portal_site, user)

    _pretend_idle(portal_site, user, 100)  # within the limit: still signed in, and the clock moves on
    assert user.get("/home").url.path == "/portal/home"
    _pretend_idle(portal_site, user, 121)
    logged_off = user.get("/home")
    assert logged_off.url.path == "/portal/timed-out"
    assert "after a period of inactivity" in logged_off.text
    # Revoked at the API, not merely forgotten by this browser: a copied token is dead too.
    with pytest.raises(StytchError) as caught:
        portal_site.sdk().sessions.authenticate(session_token=token)
    assert caught.value.details.error_type == "session_not_found"
    assert user.get("/home").url.path == "/portal/sign-in"


def test_absolute_lifetime_from_the_clinic_settings(portal_site: PortalSite) -> None:
    user = portal_site.user()
    user.create_clinic("abs@clinic.example")
    settings = user.get("/clinic/settings")
    bad = user.submit(settings, "/clinic/settings", {"idle_timeout_minutes": "30", "absolute_lifetime_minutes": "10"})
    assert bad.status_code == 400 and "cannot be shorter than the idle timeout" in bad.text
    saved = user.submit(settings, "/clinic/settings", {"idle_timeout_minutes": "5", "absolute_lifetime_minutes": "10"})
    assert "Saved" in saved.text
    org = portal_site.sdk().organizations.get(organization_id="riverside-family").organization
    assert org.trusted_metadata["clinic"]["sessions"] == {"idle_timeout_minutes": 5, "absolute_lifetime_minutes": 10}
    assert org.trusted_metadata["clinic"]["npi"] == "1234567893"  # the rest of the metadata is kept

    # The session started 11 minutes ago (the server runs on the real clock: move the start back).
    engine = create_engine(portal_site.server.database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE member_sessions SET started_at = :then"),
            {"then": datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=11)},
        )
    engine.dispose()
    ended = user.get("/home")
    assert ended.url.path == "/portal/timed-out" and "longest time your clinic allows" in ended.text


def test_new_sessions_get_the_clinic_lifetime(portal_site: PortalSite) -> None:
    user = portal_site.user()
    user.create_clinic("life@clinic.example", idle_timeout_minutes="10", absolute_lifetime_minutes="45")
    session = portal_site.sdk().sessions.authenticate(session_token=_session_token(portal_site, user)).member_session
    assert timedelta(minutes=44) <= session.expires_at - session.started_at <= timedelta(minutes=46)


def test_sign_out_everywhere_ends_the_other_browsers_session(portal_site: PortalSite) -> None:
    laptop, workstation = portal_site.user(), portal_site.user()
    home = laptop.create_clinic("both@clinic.example")
    choose = workstation.sign_in("both@clinic.example", count=2)
    assert "Riverside Family Clinic" in choose.text and "Member" in choose.text
    org_id = portal_site.sdk().organizations.get(organization_id="riverside-family").organization.organization_id
    entered = workstation.submit(choose, "/clinics/select", {"organization_id": org_id})
    assert entered.url.path == "/portal/home"

    done = laptop.submit(home, "/sign-out/everywhere")
    assert done.url.path == "/portal/signed-out" and "every device" in done.text
    other = workstation.get("/home")
    assert other.url.path == "/portal/timed-out" and "signed out on another device" in other.text
    assert laptop.get("/home").url.path == "/portal/sign-in"
    assert _actions(portal_site, org_id) == ["clinic.created", "session.signed_out_everywhere"]


def test_sign_out_revokes_this_session_only(portal_site: PortalSite) -> None:
    user = portal_site.user()
    home = user.create_clinic("out@clinic.example")
    token = _session_token(portal_site, user)
    out = user.submit(home, "/sign-out")
    assert out.url.path == "/portal/signed-out" and "signed out in this browser" in out.text
    with pytest.raises(StytchError):
        portal_site.sdk().sessions.authenticate(session_token=token)


def test_invitations_accepted_by_link_and_by_discovery_are_audited(portal_site: PortalSite) -> None:
    owner = portal_site.user()
    owner.create_clinic("boss@riverside.example")
    sdk = portal_site.sdk()
    org_id = sdk.organizations.get(organization_id="riverside-family").organization.organization_id
    authenticate_url = f"{portal_site.url}/authenticate"

    # 1. An invitation link (what the team page sends, with its audit record).
    invited = sdk.magic_links.email.invite(
        organization_id=org_id,
        email_address="nurse@riverside.example",
        invite_redirect_url=authenticate_url,
        roles=["nurse"],
    )
    engine = create_engine(portal_site.server.database_url)
    audit.record(
        engine,
        organization_id=org_id,
        actor_member_id=None,
        actor_email="boss@riverside.example",
        action="member.invited",
        target_member_id=invited.member_id,
        target_email="nurse@riverside.example",
    )
    engine.dispose()
    nurse = portal_site.user()
    home = nurse.follow_mail_link("nurse@riverside.example")
    assert home.url.path == "/portal/home" and "Nurse" in home.text
    assert nurse.get("/clinic/settings").status_code == 403  # owners and admins only

    # 2. An invited person who signs in by discovery sees the invitation and accepts it there.
    sdk.magic_links.email.invite(
        organization_id=org_id,
        email_address="md@elsewhere.example",
        invite_redirect_url=authenticate_url,
        roles=["physician"],
    )
    doctor = portal_site.user()
    choose = doctor.sign_in("md@elsewhere.example", count=2)
    assert "Invited" in choose.text and "Accept invitation" in choose.text
    accepted = doctor.submit(choose, "/clinics/select", {"organization_id": org_id})
    assert accepted.url.path == "/portal/home" and "Physician" in accepted.text

    assert _actions(portal_site, org_id) == [
        "clinic.created",
        "member.invited",
        "invitation.accepted",
        "invitation.accepted",
    ]
    # Signing in again later is not another acceptance.
    nurse2 = portal_site.user()
    nurse2.sign_in("nurse@riverside.example", count=2)
    assert _actions(portal_site, org_id).count("invitation.accepted") == 2
