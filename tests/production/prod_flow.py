"""A discovery sign-up through a real server, keeping every credential it handed out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

REDIRECT_URL = "http://localhost:3000/authenticate"


@dataclass
class SignedUp:
    organization_id: str
    member_id: str
    session_token: str
    session_jwt: str
    # label -> value of every token, JWT and secret the flow saw.
    credentials: dict[str, str] = field(default_factory=dict)


def sign_up(server: Any, api: Any, email: str | None = None) -> SignedUp:
    """Discovery magic link -> authenticate -> create organization, with the httpx client ``api``."""
    email = email or f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    slug = f"clinic-{uuid.uuid4().hex[:8]}"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = api.post(path, json=body)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    post("/v1/b2b/magic_links/email/discovery/send", {"email_address": email, "discovery_redirect_url": REDIRECT_URL})
    token = server.latest_link_token(email)
    auth = post("/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})
    created = post(
        "/v1/b2b/discovery/organizations/create",
        {
            "intermediate_session_token": auth["intermediate_session_token"],
            "organization_name": "Clinic",
            "organization_slug": slug,
        },
    )
    again = post("/v1/b2b/sessions/authenticate", {"session_token": created["session_token"]})
    return SignedUp(
        organization_id=created["organization"]["organization_id"],
        member_id=created["member"]["member_id"],
        session_token=created["session_token"],
        session_jwt=created["session_jwt"],
        credentials={
            "magic link token": token,
            "intermediate session token": auth["intermediate_session_token"],
            "session token": created["session_token"],
            "session jwt": created["session_jwt"],
            "refreshed session jwt": again["session_jwt"],
        },
    )
