"""PKCE on magic links: a link sent with a code challenge authenticates only with its verifier,
and every refusal (no verifier, a wrong one) leaves the link usable for the right device."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

VERIFIER = secrets.token_urlsafe(48)


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _refused(resp: Any, status: int, error_type: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error_type"] == error_type


def test_discovery_link_needs_its_verifier_and_survives_wrong_ones(server: Any) -> None:
    email = "pkce@clinic.com"
    with server.client() as api:
        sent = api.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={"email_address": email, "pkce_code_challenge": _challenge(VERIFIER)},
        )
        assert sent.status_code == 200, sent.text
        token = server.latest_link_token(email)
        path = "/v1/b2b/magic_links/discovery/authenticate"

        _refused(api.post(path, json={"discovery_magic_links_token": token}), 400, "pkce_expected_code_verifier")
        wrong = secrets.token_urlsafe(48)
        _refused(
            api.post(path, json={"discovery_magic_links_token": token, "pkce_code_verifier": wrong}),
            400,
            "pkce_mismatch",
        )
        ok = api.post(path, json={"discovery_magic_links_token": token, "pkce_code_verifier": VERIFIER})
        assert ok.status_code == 200, ok.text
        assert ok.json()["email_address"] == email
        # Spent now: the right verifier does not make it reusable.
        again = api.post(path, json={"discovery_magic_links_token": token, "pkce_code_verifier": VERIFIER})
        assert again.status_code in (401, 404), again.text


def test_login_link_with_challenge_and_link_without_one(server: Any, stytch_client: Any) -> None:
    admin_email = "admin@pkce-clinic.com"
    stytch_client.magic_links.email.discovery.send(email_address=admin_email)
    ist = stytch_client.magic_links.discovery.authenticate(
        discovery_magic_links_token=server.latest_link_token(admin_email)
    ).intermediate_session_token
    org = stytch_client.discovery.organizations.create(
        intermediate_session_token=ist, organization_name="PKCE Clinic", organization_slug="pkce-clinic"
    ).organization
    path = "/v1/b2b/magic_links/authenticate"
    with server.client() as api:
        sent = api.post(
            "/v1/b2b/magic_links/email/login_or_signup",
            json={
                "organization_id": org.organization_id,
                "email_address": admin_email,
                "pkce_code_challenge": _challenge(VERIFIER),
            },
        )
        assert sent.status_code == 200, sent.text
        token = server.latest_link_token(admin_email, count=2)
        _refused(api.post(path, json={"magic_links_token": token}), 400, "pkce_expected_code_verifier")
        _refused(
            api.post(path, json={"magic_links_token": token, "pkce_code_verifier": "x" * 43}), 400, "pkce_mismatch"
        )
        ok = api.post(path, json={"magic_links_token": token, "pkce_code_verifier": VERIFIER})
        assert ok.status_code == 200, ok.text
        assert ok.json()["member_authenticated"] is True

        # A link sent without a challenge refuses a verifier, and stays usable without one.
        api.post(
            "/v1/b2b/magic_links/email/login_or_signup",
            json={"organization_id": org.organization_id, "email_address": admin_email},
        ).raise_for_status()
        plain = server.latest_link_token(admin_email, count=3)
        _refused(
            api.post(path, json={"magic_links_token": plain, "pkce_code_verifier": VERIFIER}),
            400,
            "pkce_did_not_expect_code_verifier",
        )
        assert api.post(path, json={"magic_links_token": plain}).status_code == 200


def test_malformed_challenge_is_refused_and_sends_nothing(server: Any) -> None:
    with server.client() as api:
        resp = api.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={"email_address": "bad-challenge@clinic.com", "pkce_code_challenge": "not-a-challenge"},
        )
    _refused(resp, 400, "invalid_pkce_code_challenge")
    assert server.mailbox("bad-challenge@clinic.com") == []
