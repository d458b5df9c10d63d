"""Short set-up flows over plain HTTP, for tests that need a clinic or an intermediate session."""

from __future__ import annotations

from typing import Any

from test_concurrency import discovery_token

CREATE = "/v1/b2b/discovery/organizations/create"


def ist_for(server: Any, email: str) -> str:
    """A fresh intermediate session token of ``email`` (discovery magic link, authenticated)."""
    with server.client() as client:
        resp = client.post(
            "/v1/b2b/magic_links/discovery/authenticate",
            json={"discovery_magic_links_token": discovery_token(server, email)},
        )
        assert resp.status_code == 200, resp.text
        return resp.json()["intermediate_session_token"]


def clinic(server: Any, email: str, slug: str) -> dict[str, Any]:
    """``discovery/organizations/create``'s answer: ``email`` founds the clinic ``slug``."""
    with server.client() as client:
        resp = client.post(
            CREATE, json={"intermediate_session_token": ist_for(server, email), "organization_slug": slug}
        )
        assert resp.status_code == 200, resp.text
        return resp.json()
