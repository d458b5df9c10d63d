"""Fixtures for the clinic portal: a running Tenantry with the portal mounted, and a browser-like
HTTP client that fills in forms (CSRF field included) and follows links from the dev mailbox.

``portal_site`` gives a ``tenantry serve`` subprocess (SQLite and PostgreSQL, through
``server_factory``) whose ``/portal`` is the portal; ``portal_site.user()`` is a new browser (its
own cookie jar); ``portal_site.latest_link(email)`` is the newest mail link to ``email``.
"""

from __future__ import annotations

import html.parser
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from web.conftest import artifacts_dir, chromium  # noqa: F401  (shared fixtures: Debian Chromium)

from tenantry.portal.dev import env_file_path, read_env_file

# A clinic form that passes validation; tests override single fields.
VALID_CLINIC = {
    "name": "Riverside Family Clinic",
    "slug": "riverside-family",
    "clinic_type": "primary_care",
    "specialties": "Family medicine, Pediatrics",
    "ehr_system": "epic",
    "fhir_api": "on",
    "scheduling_sync": "on",
    "npi": "1234567893",
    "address_line1": "12 River Road",
    "address_city": "Springfield",
    "address_region": "IL",
    "address_postal_code": "62701",
    "address_country": "US",
    "time_zone": "America/Chicago",
    "allowed_email_domains": "riverside.example",
    "idle_timeout_minutes": "15",
    "absolute_lifetime_minutes": "720",
}


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and values.get("type") in ("hidden",) and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")


def forms(page: httpx.Response) -> list[Form]:
    parser = _FormParser()
    parser.feed(page.text)
    return parser.forms


class PortalUser:
    """One browser: a cookie jar, forms submitted with their hidden fields (CSRF token)."""

    def __init__(self, site: PortalSite) -> None:
        self.site = site
        self.http = httpx.Client(base_url=site.server.base_url, follow_redirects=True, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.site.path(path), **kwargs)

    def submit(
        self, page: httpx.Response, action: str, fields: dict[str, str] | None = None, **extra: Any
    ) -> httpx.Response:
        """Submit the form of ``page`` whose action is ``action`` (a portal path), with ``fields``."""
        target = self.site.path(action)
        form = next((f for f in forms(page) if f.action == target), None)
        assert form is not None, f"no form posting to {target} on {page.url}:\n{page.text[:2000]}"
        return self.http.post(target, data={**form.fields, **(fields or {})}, **extra)

    def csrf_token(self, page: httpx.Response) -> str:
        return next(f.fields["csrf_token"] for f in forms(page) if "csrf_token" in f.fields)

    def follow_mail_link(self, email: str, count: int = 1) -> httpx.Response:
        """Open the newest mail link to ``email`` and press Continue on Tenantry's link page."""
        link = self.site.latest_link(email, count)
        landing = self.http.get(link)
        assert landing.status_code == 200, landing.text[:500]
        form = forms(landing)[0]
        return self.http.post(urllib.parse.urljoin(str(landing.url), form.action), data=form.fields)

    def sign_in(self, email: str, count: int = 1) -> httpx.Response:
        """Ask for a discovery link and follow it: the page after the link (choose a clinic)."""
        page = self.get("/sign-in")
        sent = self.submit(page, "/sign-in", {"email": email})
        assert sent.status_code == 200 and "Check your email" in sent.text, sent.text[:1000]
        return self.follow_mail_link(email, count)

    def create_clinic(self, email: str, count: int = 1, **overrides: str) -> httpx.Response:
        choose = self.sign_in(email, count)
        new = self.get("/clinics/new")
        assert new.status_code == 200, choose.text[:500]
        home = self.submit(new, "/clinics/new", {**VALID_CLINIC, **overrides})
        assert home.status_code == 200 and str(home.url).endswith("/portal/home"), home.text[:3000]
        return home

    def close(self) -> None:
        self.http.close()


class PortalSite:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = f"{server.base_url}/portal"
        self._users: list[PortalUser] = []

    def path(self, path: str) -> str:
        return "/portal" + path if not path.startswith("/portal") else path

    def user(self) -> PortalUser:
        user = PortalUser(self)
        self._users.append(user)
        return user

    def latest_link(self, email: str, count: int = 1) -> str:
        """The first link of the newest message to ``email`` once ``count`` messages arrived."""
        newest = self.server.wait_for_mail(email, count=count)[0]
        assert newest["links"], newest
        return str(newest["links"][0])

    def credentials(self) -> dict[str, str]:
        """The portal's development credentials ``tenantry serve`` kept (portal.env)."""
        path = env_file_path(self.server.database_url)
        if not path.is_absolute():
            path = Path(self.server.workdir) / path
        return read_env_file(path)

    def sdk(self) -> Any:
        import stytch

        creds = self.credentials()
        return stytch.B2BClient(
            project_id=creds["TENANTRY_PORTAL_STYTCH_PROJECT_ID"],
            secret=creds["TENANTRY_PORTAL_STYTCH_SECRET"],
            environment=self.server.base_url,
            suppress_warnings=True,
        )

    def close(self) -> None:
        for user in self._users:
            user.close()


@pytest.fixture
def portal_site(server_factory: Callable[..., Any]) -> Iterator[PortalSite]:
    """Tenantry with the portal at ``/portal``, on a fresh database (SQLite and PostgreSQL)."""
    site = PortalSite(server_factory())
    try:
        yield site
    finally:
        site.close()


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
