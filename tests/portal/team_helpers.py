"""A clinic of several roles on a real Tenantry server, and the portal (in this process, through
the official SDK over HTTP) signed in as any of them.

Sessions are made through the real discovery flow (mail in the dev mailbox, link, exchange); only
the portal's signed cookie is written here, with the portal's own signer, instead of clicking
through the sign-in pages (PORTAL-CORE's tests cover those).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import stytch
from starlette.testclient import TestClient

from tenantry.db.engine import create_engine
from tenantry.portal import cookies
from tenantry.portal import roles as clinic
from tenantry.portal.app import create_portal
from tenantry.portal.settings import PortalSettings

PUBLIC_URL = "http://localhost:3000"  # authenticate_url is then the test project's allow-listed redirect
REDIRECT_URL = PUBLIC_URL + "/authenticate"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def discovery_session(server: Any, client: stytch.B2BClient, email: str, organization_id: str) -> str:
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    auth = client.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    return client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=auth.intermediate_session_token, organization_id=organization_id
    ).session_token


@dataclass
class Clinic:
    organization_id: str
    slug: str
    members: dict[str, str] = field(default_factory=dict)  # label -> member_id
    emails: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)


def make_clinic(server: Any, client: stytch.B2BClient, slug: str, staff: dict[str, str]) -> Clinic:
    """``staff`` maps a label (``owner``, ``admin``, ``nurse`` ...) to a clinic role; every one of
    them is an active member with a live session. The first is the founder (through discovery)."""
    labels = list(staff)
    founder = f"{labels[0]}@{slug}.example"
    already = len(server.mailbox(founder))
    client.magic_links.email.discovery.send(email_address=founder, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(founder, count=already + 1)
    auth = client.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    created = client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name=slug.title(),
        organization_slug=slug,
    )
    org_id = created.organization.organization_id
    client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy=clinic.org_policy())
    found = Clinic(org_id, slug)
    for i, label in enumerate(labels):
        email = f"{label}@{slug}.example"
        if i == 0:
            member_id = created.member.member_id
            client.organizations.members.update(organization_id=org_id, member_id=member_id, roles=[staff[label]])
        else:
            member_id = client.organizations.members.create(
                organization_id=org_id, email_address=email, name=label.title(), roles=[staff[label]]
            ).member.member_id
        found.members[label], found.emails[label] = member_id, email
        found.sessions[label] = discovery_session(server, client, email, org_id)
    return found


class PortalBrowser:
    """The portal app driven like a browser: cookies kept, CSRF token taken from each page."""

    def __init__(self, app: Any, session_token: str) -> None:
        self.http = TestClient(app, base_url=PUBLIC_URL, follow_redirects=False)
        self.http.__enter__()
        signed = app.state.portal.signer.sign("session", {"t": session_token, "a": int(time.time())})
        self.http.cookies.set(cookies.SESSION, signed)
        self._csrf: str | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        resp = self.http.get(path, **kwargs)
        found = _CSRF.search(resp.text)
        if found:
            self._csrf = found.group(1)
        return resp

    def csrf(self) -> str:
        if self._csrf is None:
            self.get("/team")
        assert self._csrf
        return self._csrf

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.http.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def close(self) -> None:
        self.http.__exit__(None, None, None)


def portal_app(server: Any) -> Any:
    settings = PortalSettings(
        stytch_project_id=server.project_id,
        stytch_secret=server.secret,
        stytch_environment=server.base_url,
        public_url=PUBLIC_URL,
        cookie_keys=["portal-test-cookie-key-" + "k" * 20],
        database_url=server.database_url,
    )
    return create_portal(settings, create_engine(server.database_url))
