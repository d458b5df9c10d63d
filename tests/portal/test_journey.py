"""The whole clinic journey in Chromium, from an empty database (SQLite and PostgreSQL).

A contact signs up with one email, opens the link from the dev mailbox (through Tenantry's
Continue page), creates a clinic with its metadata, invites three staff (two one by one, one from
a CSV file), each of them accepts in a browser of their own and lands with the right role, the
admin changes a role, the audit page shows every step, and ``tenantry audit verify`` passes.

Every step is checked on the page *and* through the official SDK (or the CLI), so a step that
silently does nothing fails here. Screenshots of each page go to ``artifacts/web/<test>/``; with
``TENANTRY_DOCS_SCREENSHOTS=1`` the SQLite run also refreshes ``docs/screenshots/`` (the README's
pictures; ``python tests/portal/screenshots.py`` does exactly that).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import VALID_CLINIC, PortalSite

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Wide enough for the team table, narrow enough that the README's PNGs stay small.
VIEWPORT = {"width": 900, "height": 700}

OWNER = "olivia.owner@riverside.example"
# (email, name, role) of the three staff: two invited one by one, the last from a CSV file.
ADMIN = ("adam.admin@riverside.example", "Adam Admin", "admin")
PHYSICIAN = ("phil.physician@riverside.example", "Phil Physician", "physician")
NURSE = ("nina.nurse@riverside.example", "Nina Nurse", "nurse")
ROLE_LABELS = {
    "owner": "Owner",
    "admin": "Admin",
    "physician": "Physician",
    "nurse": "Nurse",
    "front_desk": "Front desk",
}


class Camera:
    """Full-page screenshots into the test's artifacts (and, when asked, into docs/screenshots)."""

    def __init__(self, artifacts_dir: Path, docs: bool) -> None:
        self.dir = artifacts_dir
        self.docs = docs
        self.taken: list[str] = []

    def shot(self, page: Page, name: str) -> None:
        # Wide tables scroll inside their box: the page itself never gets wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], name
        path = self.dir / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        self.taken.append(path.name)
        if self.docs:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")


def _member(sdk: Any, organization_id: str, email: str) -> Any:
    return sdk.organizations.members.get(organization_id=organization_id, email_address=email).member


def _role_ids(member: Any) -> set[str]:
    return {r.role_id for r in member.roles}


def _open_mail_link(page: Page, site: PortalSite, email: str, camera: Camera | None = None) -> None:
    """Open the newest link mailed to ``email`` and press Continue on Tenantry's link page."""
    page.goto(site.latest_link(email))
    # Tenantry's scanner-safe page: a GET never spends the token, only this button does.
    button = page.locator("button[type=submit]")
    expect(button).to_have_count(1)
    if camera is not None:
        camera.shot(page, "continue")
    button.click()


def _invite_one(page: Page, email: str, name: str, role: str) -> None:
    page.fill("#invite-email", email)
    page.fill("#invite-name", name)
    page.select_option("#invite-role", role)
    page.get_by_role("button", name="Send invitation", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/portal/team?done=invited"), page.inner_text("main")
    expect(page.locator("p.notice.good")).to_have_text("Invitation sent.")
    row = page.locator("tr", has_text=email)
    expect(row).to_have_attribute("data-status", "invited")
    expect(row.locator("td").nth(1)).to_have_text(ROLE_LABELS[role])


def _audit_rows(page: Page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "table tbody tr",
        """rows => rows.map(r => ({
            action: r.dataset.action,
            who: r.cells[3].innerText,
            whom: r.cells[4].innerText,
            details: r.cells[5].innerText,
        }))""",
    )


def test_clinic_journey_in_chromium(
    portal_site: PortalSite, chromium: Any, artifacts_dir: Path, database_url: str
) -> None:
    docs = os.environ.get("TENANTRY_DOCS_SCREENSHOTS") == "1" and database_url.startswith("sqlite")
    camera = Camera(artifacts_dir, docs)
    sdk = portal_site.sdk()
    contexts: list[Any] = []
    console: list[str] = []

    def browser() -> Page:
        context = chromium.new_context(viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
        return page

    try:
        # --- 1. The contact signs up with one email field. -----------------------------------
        owner = browser()
        owner.goto(f"{portal_site.url}/sign-in")
        expect(owner.locator("h1")).to_have_text("Sign in or set up your clinic")
        camera.shot(owner, "sign-in")
        owner.fill("#email", OWNER)
        owner.get_by_role("button", name="Email me a link", exact=True).click()
        owner.wait_for_url("**/portal/check-email")
        expect(owner.locator("h1")).to_have_text("Check your email")
        expect(owner.locator("main")).to_contain_text(OWNER)
        expect(owner.locator("main")).to_contain_text("30 minutes")
        camera.shot(owner, "check-email")

        # --- 2. The link from the dev mailbox, through the Continue page: choose or create. ---
        assert len(portal_site.server.mailbox(OWNER)) == 1
        _open_mail_link(owner, portal_site, OWNER, camera)
        owner.wait_for_url("**/portal/clinics")
        expect(owner.locator("h1")).to_have_text("Choose your clinic")
        expect(owner.locator("main")).to_contain_text("You do not belong to any clinic yet")
        camera.shot(owner, "choose-clinic")

        # --- 3. Create the clinic with its metadata. -----------------------------------------
        owner.click("text=Create a new clinic")
        owner.wait_for_url("**/portal/clinics/new")
        for name, value in VALID_CLINIC.items():
            if name in ("clinic_type", "ehr_system"):
                owner.select_option(f"select[name={name}]", value)
            elif value == "on":
                owner.check(f"input[name={name}]")
            else:
                owner.fill(f"[name={name}]", value)
        camera.shot(owner, "create-clinic")
        owner.get_by_role("button", name="Create the clinic", exact=True).click()
        owner.wait_for_url("**/portal/home")
        expect(owner.locator("h1")).to_have_text(VALID_CLINIC["name"])
        facts = owner.locator("dl.facts")
        for shown in ("Primary care", "Family medicine, Pediatrics", "1234567893", "Epic", "FHIR", "America/Chicago"):
            expect(facts).to_contain_text(shown)
        expect(facts).to_contain_text("12 River Road, Springfield IL 62701, US")
        expect(facts).to_contain_text("riverside.example")
        expect(owner.locator("main .badge")).to_have_text("Owner")
        camera.shot(owner, "home")

        org = sdk.organizations.get(organization_id=VALID_CLINIC["slug"]).organization
        org_id = org.organization_id
        clinic = org.trusted_metadata["clinic"]
        assert clinic["schema_version"] == 1
        assert clinic["clinic_type"] == "primary_care"
        assert clinic["specialties"] == ["Family medicine", "Pediatrics"]
        assert clinic["ehr"]["system"] == "epic" and clinic["ehr"]["fhir_api"] and clinic["ehr"]["scheduling_sync"]
        assert not clinic["ehr"]["hl7v2_feed"] and not clinic["ehr"]["billing_export"]
        assert clinic["npi"] == "1234567893"
        assert clinic["address"]["city"] == "Springfield" and clinic["address"]["postal_code"] == "62701"
        assert clinic["time_zone"] == "America/Chicago"
        assert clinic["allowed_email_domains"] == ["riverside.example"]
        assert org.email_allowed_domains == ["riverside.example"]
        assert "owner" in _role_ids(_member(sdk, org_id, OWNER))
        policy_roles = {
            r.role_id for r in sdk.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles
        }
        assert {"owner", "admin", "physician", "nurse", "front_desk", "billing"} <= policy_roles

        # --- 4. Invite three staff: two one by one, one from a CSV file. ---------------------
        owner.click("nav >> text=Team")
        owner.wait_for_url("**/portal/team")
        expect(owner.locator("tbody tr")).to_have_count(1)  # the owner alone
        _invite_one(owner, *ADMIN)
        _invite_one(owner, *PHYSICIAN)
        owner.set_input_files(
            "#invite-file",
            files=[
                {
                    "name": "staff.csv",
                    "mimeType": "text/csv",
                    "buffer": f"email,name,role\n{','.join(NURSE)}\n".encode(),
                }
            ],
        )
        owner.get_by_role("button", name="Upload and invite", exact=True).click()
        owner.wait_for_url(re.compile(r".*/portal/team/batches/.*"))
        # The progress page refreshes itself until every row has its result.
        expect(owner.locator("#batch-progress-text")).to_contain_text("Done: all 1 rows have a result.", timeout=30_000)
        row = owner.locator("tbody tr[data-line='2']")
        expect(row).to_have_attribute("data-outcome", "invited")
        expect(row).to_contain_text(NURSE[0])
        expect(row.locator(".badge")).to_have_text("Invited")
        expect(owner.locator("#batch-progress")).to_have_attribute("value", "1")
        camera.shot(owner, "csv-progress")

        owner.click("text=Back to the team")
        owner.wait_for_url("**/portal/team")
        expect(owner.locator("tbody tr[data-status=invited]")).to_have_count(3)
        camera.shot(owner, "team-invited")
        for email, _name, role in (ADMIN, PHYSICIAN, NURSE):
            invited = _member(sdk, org_id, email)
            assert invited.status == "invited", (email, invited.status)
            assert role in _role_ids(invited), (email, _role_ids(invited))
            assert len(portal_site.server.wait_for_mail(email)) == 1

        # --- 5. Each invitee accepts in a browser of their own and lands with their role. ----
        staff_pages: dict[str, Page] = {}
        member_ids: dict[str, str] = {}
        for email, name, role in (ADMIN, PHYSICIAN, NURSE):
            page = browser()
            _open_mail_link(page, portal_site, email)
            page.wait_for_url("**/portal/home")
            expect(page.locator("h1")).to_have_text(VALID_CLINIC["name"])
            expect(page.locator("main .badge")).to_have_text(ROLE_LABELS[role])
            expect(page.locator("footer")).to_contain_text(f"Signed in as {email}")
            if role == "physician":
                camera.shot(page, "invitee-home")
            joined = _member(sdk, org_id, email)
            assert joined.status == "active" and joined.name == name, (email, joined.status, joined.name)
            assert role in _role_ids(joined) and "owner" not in _role_ids(joined)
            staff_pages[role], member_ids[role] = page, joined.member_id
        # Clinical staff see the team but may not manage it.
        physician = staff_pages["physician"]
        physician.goto(f"{portal_site.url}/team")
        expect(physician.locator("main")).to_contain_text("Only the clinic's owners and admins invite staff")
        expect(physician.locator("#invite-email")).to_have_count(0)

        # --- 6. The admin changes the nurse's role to front desk. ----------------------------
        admin = staff_pages["admin"]
        admin.goto(f"{portal_site.url}/team")
        expect(admin.locator("tbody tr[data-status=active]")).to_have_count(4)
        nurse_row = admin.locator(f"#member-{member_ids['nurse']}")
        # An admin may grant up to admin, never owner.
        options = nurse_row.locator("select[name=role] option")
        assert "owner" not in options.evaluate_all("os => os.map(o => o.value)")
        nurse_row.locator("select[name=role]").select_option("front_desk")
        camera.shot(admin, "team")
        nurse_row.get_by_role("button", name="Change role", exact=True).click()
        admin.wait_for_url(lambda url: url.endswith("/portal/team?done=role"))
        expect(admin.locator("p.notice.good")).to_have_text("Role changed.")
        expect(admin.locator(f"#member-{member_ids['nurse']} td").nth(1)).to_have_text("Front desk")
        assert _role_ids(_member(sdk, org_id, NURSE[0])) & {"nurse", "front_desk"} == {"front_desk"}
        nurse = staff_pages["nurse"]
        nurse.reload()
        expect(nurse.locator("main .badge")).to_have_text("Front desk")

        # --- 7. The audit page shows every step, with who did it to whom. --------------------
        admin.click("nav >> text=Audit log")
        admin.wait_for_url("**/portal/audit")
        camera.shot(admin, "audit")
        rows = list(reversed(_audit_rows(admin)))  # the page lists the newest first
        assert [r["action"] for r in rows] == [
            "clinic.created",
            "member.invited",
            "member.invited",
            "member.invited",
            "invitation.accepted",
            "invitation.accepted",
            "invitation.accepted",
            "member.role_changed",
        ], rows
        assert OWNER in rows[0]["who"]
        for row, (email, _name, role) in zip(rows[1:4], (ADMIN, PHYSICIAN, NURSE), strict=True):
            assert OWNER in row["who"] and email in row["whom"] and role in row["details"], row
        for row, (email, _name, _role) in zip(rows[4:7], (ADMIN, PHYSICIAN, NURSE), strict=True):
            assert email in row["who"] and email in row["whom"], row
            assert "session" in row["who"], row  # from which session
        changed = rows[7]
        assert ADMIN[0] in changed["who"] and NURSE[0] in changed["whom"], changed
        assert "nurse" in changed["details"] and "front_desk" in changed["details"], changed
        assert member_ids["nurse"] in changed["whom"]

        # --- 8. The chain verifies from the command line, against the same database. ---------
        verify = subprocess.run(
            [sys.executable, "-m", "tenantry", "audit", "verify", "--database-url", portal_site.server.database_url],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")},
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert verify.stdout.startswith("ok: 8 events"), verify.stdout

        assert not [m for m in console if "Content Security Policy" in m or m.startswith("error")], console
        assert len(camera.taken) == 11, camera.taken
    finally:
        for context in contexts:
            context.close()
