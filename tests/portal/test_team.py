"""Team pages against a real Tenantry server: the hierarchy is enforced by the portal's server
(hand-crafted POSTs included), the last owner stays, clinics never see each other, CSV results."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from portal.team_helpers import Clinic, PortalBrowser, make_clinic, portal_app
from tenantry.db.engine import create_engine
from tenantry.portal.audit import chain, query


@pytest.fixture
def sdk(server: Any) -> Any:
    import stytch

    return stytch.B2BClient(project_id=server.project_id, secret=server.secret, environment=server.base_url)


@pytest.fixture
def browsers(server: Any) -> Iterator[Any]:
    opened: list[PortalBrowser] = []

    def open_as(session_token: str) -> PortalBrowser:
        browser = PortalBrowser(portal_app(server), session_token)
        opened.append(browser)
        return browser

    yield open_as
    for b in opened:
        b.close()


def _emails(sdk: Any, org_id: str) -> dict[str, Any]:
    found = sdk.organizations.members.search(organization_ids=[org_id], limit=100).members
    return {m.email_address: m for m in found if m.status != "deleted"}


def _events(server: Any, org_id: str) -> list[dict[str, Any]]:
    engine = create_engine(server.database_url)
    try:
        return query.search(engine, organization_id=org_id)
    finally:
        engine.dispose()


def _roles(member: Any) -> set[str]:
    return {r.role_id for r in member.roles} - {"stytch_member"}


def test_hierarchy_is_enforced_by_the_server(server, sdk, browsers):
    a: Clinic = make_clinic(server, sdk, "clinic-a", {"owner": "owner", "admin": "admin", "nurse": "nurse"})
    nurse, admin, owner = browsers(a.sessions["nurse"]), browsers(a.sessions["admin"]), browsers(a.sessions["owner"])

    # A nurse sees the team but no invite form; a hand-crafted POST is refused before Stytch is asked.
    page = nurse.get("/team")
    assert page.status_code == 200 and "admin@clinic-a.example" in page.text
    assert 'action="/team/invite"' not in page.text
    refused = nurse.post("/team/invite", {"email": "new-admin@clinic-a.example", "name": "X", "role": "admin"})
    assert refused.status_code == 403
    assert "Only owners and admins may invite staff." in refused.text
    assert "new-admin@clinic-a.example" not in _emails(sdk, a.organization_id)
    assert nurse.get("/audit").status_code == 403

    # An admin invites up to admin, never an owner.
    up = admin.post("/team/invite", {"email": "boss@clinic-a.example", "name": "Boss", "role": "owner"})
    assert up.status_code == 403 and "above your own" in up.text
    ok = admin.post("/team/invite", {"email": "Nina@Clinic-A.example", "name": "Nina", "role": "nurse"})
    assert ok.status_code == 303, ok.text
    invited = _emails(sdk, a.organization_id)["nina@clinic-a.example"]
    assert invited.status == "invited" and _roles(invited) == {"nurse"}
    assert server.wait_for_mail("nina@clinic-a.example")
    team = admin.get("/team?done=invited")
    row = re.search(rf'id="member-{invited.member_id}" data-status="(\w+)"', team.text)
    assert row and row.group(1) == "invited" and "Invitation sent." in team.text

    # Acting on the owner is refused to an admin, whatever the form says.
    owner_id = a.members["owner"]
    assert admin.post(f"/team/members/{owner_id}/role", {"role": "nurse"}).status_code == 403
    assert admin.post(f"/team/members/{owner_id}/remove").status_code == 403
    assert admin.post(f"/team/members/{a.members['nurse']}/role", {"role": "owner"}).status_code == 403

    # The last owner can be neither demoted nor removed, not even by themselves.
    demote = owner.post(f"/team/members/{owner_id}/role", {"role": "admin"})
    assert demote.status_code == 403 and "last owner cannot be demoted" in demote.text
    remove = owner.post(f"/team/members/{owner_id}/remove")
    assert remove.status_code == 403 and "last owner cannot be removed" in remove.text
    assert _roles(_emails(sdk, a.organization_id)["owner@clinic-a.example"]) == {"owner"}

    # Allowed changes go through, with the member's session, and are audited.
    assert owner.post(f"/team/members/{a.members['nurse']}/role", {"role": "physician"}).status_code == 303
    assert _roles(_emails(sdk, a.organization_id)["nurse@clinic-a.example"]) == {"physician"}
    assert admin.post(f"/team/members/{invited.member_id}/resend").status_code == 303
    assert server.wait_for_mail("nina@clinic-a.example", count=2)
    assert admin.post(f"/team/members/{invited.member_id}/revoke").status_code == 303
    assert "nina@clinic-a.example" not in _emails(sdk, a.organization_id)
    assert admin.post(f"/team/members/{a.members['nurse']}/remove").status_code == 303
    assert "nurse@clinic-a.example" not in _emails(sdk, a.organization_id)

    events = list(reversed(_events(server, a.organization_id)))
    assert [e["action"] for e in events] == [
        "member.invited",
        "member.role_changed",
        "invitation.resent",
        "invitation.revoked",
        "member.removed",
    ]
    assert events[0]["actor_email"] == "admin@clinic-a.example"
    assert events[0]["target_email"] == "nina@clinic-a.example"
    assert events[0]["session_id"].startswith("member-session-")
    assert events[1]["details"] == {"old_role": "nurse", "new_role": "physician"}
    audit = admin.get("/audit?action=member.removed")
    assert audit.status_code == 200 and audit.text.count('data-action="member.removed"') == 1
    engine = create_engine(server.database_url)
    assert chain.verify(engine).ok
    engine.dispose()


def test_an_admin_of_clinic_a_sees_nothing_of_clinic_b(server, sdk, browsers):
    a = make_clinic(server, sdk, "clinic-a", {"owner": "owner", "admin": "admin"})
    b = make_clinic(server, sdk, "clinic-b", {"bowner": "owner", "bnurse": "nurse"})
    owner_b = browsers(b.sessions["bowner"])
    assert (
        owner_b.post("/team/invite", {"email": "secret@clinic-b.example", "name": "S", "role": "billing"}).status_code
        == 303
    )
    admin_a = browsers(a.sessions["admin"])

    team = admin_a.get("/team")
    assert "clinic-b.example" not in team.text and b.members["bnurse"] not in team.text
    audit = admin_a.get("/audit")
    assert audit.status_code == 200 and "clinic-b.example" not in audit.text
    for kind in ("csv", "json"):
        export = admin_a.get(f"/audit/export.{kind}")
        assert export.status_code == 200 and "clinic-b" not in export.text
    assert "clinic-b" not in admin_a.get(f"/audit?target={b.members['bnurse']}").text

    # Hand-crafted POSTs with B's member ids: "no such member" here, and B is untouched.
    for path, data in (
        (f"/team/members/{b.members['bnurse']}/role", {"role": "admin"}),
        (f"/team/members/{b.members['bnurse']}/remove", {}),
        (f"/team/members/{b.members['bowner']}/remove", {}),
    ):
        resp = admin_a.post(path, data)
        assert resp.status_code == 404 and "no such member in this clinic" in resp.text
    invited_b = _emails(sdk, b.organization_id)["secret@clinic-b.example"]
    for action in ("resend", "revoke"):
        assert admin_a.post(f"/team/members/{invited_b.member_id}/{action}").status_code == 404
    after = _emails(sdk, b.organization_id)
    assert _roles(after["bnurse@clinic-b.example"]) == {"nurse"} and "secret@clinic-b.example" in after
    assert all(e["organization_id"] == a.organization_id for e in _events(server, a.organization_id))
    assert [e["action"] for e in _events(server, b.organization_id)] == ["member.invited"]


def test_csv_invitations_report_a_result_per_row(server, sdk, browsers):
    a = make_clinic(server, sdk, "clinic-a", {"owner": "owner", "admin": "admin"})
    admin = browsers(a.sessions["admin"])
    csv_text = (
        "email,name,role\n"
        "nora@clinic-a.example,Nora,nurse\n"
        "NORA@clinic-a.example,Nora again,nurse\n"
        "not-an-email,Broken,billing\n"
        "olga@clinic-a.example,Olga,owner\n"
        "owner@clinic-a.example,Already,nurse\n"
        "fred@clinic-a.example,Fred,front_desk\n"
        "sam@clinic-a.example,Sam,surgeon\n"
    )
    upload = admin.post("/team/invite-csv", files={"file": ("staff.csv", csv_text.encode(), "text/csv")})
    assert upload.status_code == 303, upload.text
    location = upload.headers["location"]
    assert location.startswith("/team/batches/batch-")
    deadline = time.monotonic() + 60
    while True:
        page = admin.get(location)
        assert page.status_code == 200
        if "Done: all 7 rows have a result." in page.text:
            break
        assert '<meta http-equiv="refresh" content="1">' in page.text and "<progress" in page.text
        assert time.monotonic() < deadline, page.text
    assert 'max="7" value="7"' in page.text and "http-equiv" not in page.text
    outcomes = dict(re.findall(r'data-line="(\d+)" data-outcome="(\w+)"', page.text))
    assert outcomes == {
        "2": "invited",
        "3": "duplicate",
        "4": "invalid_email",
        "5": "refused",
        "6": "duplicate",
        "7": "invited",
        "8": "invalid_role",
    }
    members = _emails(sdk, a.organization_id)
    assert _roles(members["nora@clinic-a.example"]) == {"nurse"}
    assert _roles(members["fred@clinic-a.example"]) == {"front_desk"}
    assert "olga@clinic-a.example" not in members
    assert [e["target_email"] for e in reversed(_events(server, a.organization_id))] == [
        "nora@clinic-a.example",
        "fred@clinic-a.example",
    ]
    # Another member of the same clinic cannot open (and so cannot drive) this upload.
    owner = browsers(a.sessions["owner"])
    assert owner.get(location).status_code == 404
