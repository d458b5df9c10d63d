"""The sign-up pages in Chromium: styled under the strict CSP (no violation reported), usable
with the keyboard alone, and readable on a phone-sized screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import VALID_CLINIC, PortalSite

PHONE = {"width": 375, "height": 740}


def test_sign_up_in_chromium_on_a_phone(portal_site: PortalSite, chromium: Any, artifacts_dir: Path) -> None:
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    try:
        page.goto(f"{portal_site.url}/sign-in")
        # The stylesheet loaded under style-src 'self': the button has the accent colour.
        assert page.eval_on_selector("button[type=submit]", "b => getComputedStyle(b).backgroundColor") == (
            "rgb(11, 92, 173)"
        )
        # Keyboard only: Tab from the top reaches the skip link, then the form; Enter submits.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.focus("#email")
        page.keyboard.type("phone@clinic.example")
        page.keyboard.press("Enter")
        page.wait_for_url("**/portal/check-email")
        assert "Check your email" in page.inner_text("h1")
        page.screenshot(path=str(artifacts_dir / "check-email.png"), full_page=True)

        page.goto(portal_site.latest_link("phone@clinic.example"))
        page.click("button[type=submit]")  # Tenantry's Continue page
        page.wait_for_url("**/portal/clinics")
        page.click("text=Create a new clinic")
        page.wait_for_url("**/portal/clinics/new")
        # Every field has a label the browser associates with it.
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => e.labels.length === 0).map(e => e.name)"
        )
        assert unlabelled == []
        for name, value in VALID_CLINIC.items():
            if name in ("clinic_type", "ehr_system"):
                page.select_option(f"select[name={name}]", value)
            elif value == "on":
                page.check(f"input[name={name}]")
            else:
                page.fill(f"[name={name}]", value)
        page.screenshot(path=str(artifacts_dir / "create-clinic.png"), full_page=True)
        page.click("text=Create the clinic")
        page.wait_for_url("**/portal/home")
        assert page.inner_text("h1") == "Riverside Family Clinic"
        # Readable on a phone: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts_dir / "home.png"), full_page=True)
        assert not [m for m in console if "Content Security Policy" in m or m.startswith("error")], console
    finally:
        context.close()
