"""Sign-up, clinic creation, switching clinics and the sign-in pages, over HTTP against a real
``tenantry serve`` (SQLite and PostgreSQL) with the portal mounted at ``/portal``."""

from __future__ import annotations

import sqlalchemy as sa

from tenantry.db.engine import create_engine
from tenantry.portal.audit import query
from tenantry.portal.pages import CONTENT_SECURITY_POLICY

from .conftest import VALID_CLINIC, PortalSite


def _audit(site: PortalSite, organization_id: str) -> list[dict]:
    engine = create_engine(site.server.database_url)
    try:
        return query.search(engine, organization_id=organization_id)
    finally:
        engine.dispose()


def _organization_id(site: PortalSite, slug: str) -> str:
    return site.sdk().organizations.get(organization_id=slug).organization.organization_id


def test_sign_up_creates_a_clinic_with_metadata_roles_and_owner(portal_site: PortalSite) -> None:
    user = portal_site.user()
    page = user.get("/sign-in")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    sent = user.submit(page, "/sign-in", {"email": "Owner@Riverside.example"})
    assert "owner@riverside.example" in sent.text.lower()
    assert "30 minutes" in sent.text  # how long the link is good for

    # Resend: a second link arrives; the newest one is the one to use.
    resent = user.submit(sent, "/check-email/resend")
    assert resent.status_code == 200 and "We sent a new link" in resent.text
    choose = user.follow_mail_link("owner@riverside.example", count=2)
    assert str(choose.url).endswith("/portal/clinics")
    assert "You do not belong to any clinic yet" in choose.text

    new = user.get("/clinics/new")
    refused = user.submit(new, "/clinics/new", {**VALID_CLINIC, "npi": "1234567890", "time_zone": "Mars/Olympus"})
    assert refused.status_code == 400
    assert "NPI is 10 digits" in refused.text and "not a time zone" in refused.text
    assert 'value="Riverside Family Clinic"' in refused.text  # the form keeps what was typed

    home = user.submit(refused, "/clinics/new", VALID_CLINIC)
    assert str(home.url).endswith("/portal/home") and "Riverside Family Clinic" in home.text
    assert "Owner" in home.text and "1234567893" in home.text

    org = portal_site.sdk().organizations.get(organization_id="riverside-family").organization
    clinic = org.trusted_metadata["clinic"]
    assert clinic["schema_version"] == 1
    assert clinic["npi"] == "1234567893" and clinic["time_zone"] == "America/Chicago"
    assert clinic["ehr"] == {
        "system": "epic",
        "fhir_api": True,
        "hl7v2_feed": False,
        "scheduling_sync": True,
        "billing_export": False,
    }
    assert clinic["specialties"] == ["Family medicine", "Pediatrics"]
    assert org.email_allowed_domains == ["riverside.example"]
    policy = portal_site.sdk().rbac.organizations.get_org_policy(organization_id=org.organization_id)
    assert {r.role_id for r in policy.org_policy.roles} == {
        "owner",
        "admin",
        "physician",
        "nurse",
        "front_desk",
        "billing",
    }
    members = portal_site.sdk().organizations.members.search(organization_ids=[org.organization_id]).members
    assert [m.email_address for m in members] == ["owner@riverside.example"]
    assert "owner" in [r.role_id for r in members[0].roles]

    events = _audit(portal_site, org.organization_id)
    assert [e["action"] for e in events] == ["clinic.created"]
    assert events[0]["actor_email"] == "owner@riverside.example"

    # Cookies: HttpOnly, SameSite=Lax, not Secure over plain http; no token in any URL.
    cookies = [v for k, v in home.history[0].headers.multi_items() if k == "set-cookie"] if home.history else []
    session_cookie = next(c for c in cookies if c.startswith("portal-session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" not in session_cookie


def test_switch_between_clinics_without_a_new_email(portal_site: PortalSite) -> None:
    user = portal_site.user()
    user.create_clinic("doc@two.example", slug="first-clinic", name="First Clinic", allowed_email_domains="")
    # A second clinic for the same person: a new discovery link (creation needs one).
    user.create_clinic("doc@two.example", count=2, slug="second-clinic", name="Second Clinic", allowed_email_domains="")
    home = user.get("/home")
    assert "Second Clinic" in home.text
    switch = user.get("/switch")
    choices = switch.text.split('<ul class="choices">', 1)[1].split("</ul>")[0]
    assert "First Clinic" in choices and "Second Clinic" not in choices  # not the one you are in
    first_id = _organization_id(portal_site, "first-clinic")
    landed = user.submit(switch, "/switch", {"organization_id": first_id})
    assert str(landed.url).endswith("/portal/home")
    assert "<h1>First Clinic</h1>" in landed.text
    # Only one mail per sign-in was needed: the switch sent none.
    assert len(portal_site.server.mailbox("doc@two.example")) == 2


def test_expired_intermediate_session_explains_and_offers_a_new_link(portal_site: PortalSite) -> None:
    user = portal_site.user()
    choose = user.sign_in("late@clinic.example")
    assert str(choose.url).endswith("/portal/clinics")
    new = user.get("/clinics/new")
    # Ten minutes pass: the intermediate session has expired (the server runs on the real clock).
    engine = create_engine(portal_site.server.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE intermediate_sessions SET expires_at = :past"), {"past": "2000-01-01 00:00:00"})
    engine.dispose()

    late = user.submit(new, "/clinics/new", VALID_CLINIC)
    assert late.status_code == 200 and str(late.url).endswith("/portal/start-again")
    assert "Your sign-in timed out" in late.text and "Nothing was created" in late.text
    assert 'value="late@clinic.example"' in late.text  # the new-link form is filled in
    assert user.get("/clinics").url.path == "/portal/start-again"

    again = user.submit(late, "/sign-in", {"email": "late@clinic.example"})
    assert "Check your email" in again.text
    fresh = user.follow_mail_link("late@clinic.example", count=2)
    assert fresh.url.path == "/portal/clinics"


def test_used_link_gets_a_clear_page(portal_site: PortalSite) -> None:
    user = portal_site.user()
    user.sign_in("once@clinic.example")
    link = portal_site.latest_link("once@clinic.example")
    token = link.split("token=")[1]
    replay = user.get(f"/authenticate?stytch_token_type=discovery&token={token}")
    assert replay.status_code == 400 and "This link cannot be used" in replay.text


def test_every_post_needs_the_csrf_token_of_this_browser(portal_site: PortalSite) -> None:
    user, other = portal_site.user(), portal_site.user()
    page = user.get("/sign-in")
    token = user.csrf_token(page)
    missing = user.http.post("/portal/sign-in", data={"email": "x@clinic.example"})
    assert missing.status_code == 403 and "This form has expired" in missing.text
    wrong = user.http.post("/portal/sign-in", data={"email": "x@clinic.example", "csrf_token": token + "x"})
    assert wrong.status_code == 403
    other.get("/sign-in")  # another browser has its own nonce: this token is not valid there
    stolen = other.http.post("/portal/sign-in", data={"email": "x@clinic.example", "csrf_token": token})
    assert stolen.status_code == 403
    cross_site = user.http.post(
        "/portal/sign-in",
        data={"email": "x@clinic.example", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    fetched_cross_site = user.http.post(
        "/portal/sign-in",
        data={"email": "x@clinic.example", "csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert fetched_cross_site.status_code == 403
    for path in ("/sign-out", "/sign-out/everywhere", "/check-email/resend", "/clinics/new", "/switch"):
        assert user.http.post(f"/portal{path}", data={}).status_code == 403, path
    assert portal_site.server.mailbox("x@clinic.example") == []
    ok = user.http.post("/portal/sign-in", data={"email": "x@clinic.example", "csrf_token": token})
    assert ok.status_code == 200 and "Check your email" in ok.text
    for response in (missing, ok, user.get("/static/portal.css")):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "script" not in ok.text.lower()
