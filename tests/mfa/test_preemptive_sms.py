"""A member with an MFA phone who logs in to an organization requiring MFA gets the SMS code
right away, as on Stytch (``secondary_auth_initiated: "sms_otp"``, phone masked in
``member_options``); listing organizations never sends one."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from mfa.helpers import REDIRECT_URL, post

PHONE = "+14155550123"


def texts(server: Any, to: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.base_url}/dev/sms/api/messages?to={quote(to)}", timeout=10)
    resp.raise_for_status()
    return resp.json()


def login(server: Any, api: httpx.Client, email: str) -> dict[str, Any]:
    already = len(server.mailbox(email))
    post(
        api,
        "/v1/b2b/magic_links/email/discovery/send",
        {"email_address": email, "discovery_redirect_url": REDIRECT_URL},
    )
    token = server.latest_link_token(email, count=already + 1)
    return post(api, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})


def test_login_sends_the_sms_code_and_listing_does_not(server):
    with server.client() as api:
        auth = login(server, api, "admin@clinic.com")
        created = post(
            api,
            "/v1/b2b/discovery/organizations/create",
            {"intermediate_session_token": auth["intermediate_session_token"], "organization_slug": "clinic"},
        )
        org_id, member_id = created["organization"]["organization_id"], created["member_id"]
        member = api.put(
            f"/v1/b2b/organizations/{org_id}/members/{member_id}", json={"mfa_phone_number": "+1 (415) 555-0123"}
        )
        assert member.status_code == 200, member.text
        assert member.json()["member"]["mfa_phone_number"] == PHONE
        assert member.json()["member"]["mfa_phone_number_verified"] is False
        api.put(f"/v1/b2b/organizations/{org_id}", json={"mfa_policy": "REQUIRED_FOR_ALL"})

        again = login(server, api, "admin@clinic.com")
        [listed] = again["discovered_organizations"]
        assert listed["member_authenticated"] is False
        assert listed["mfa_required"]["member_options"] == {
            "mfa_phone_number": "XXXXXXX0123",
            "totp_registration_id": "",
        }
        assert listed["mfa_required"]["secondary_auth_initiated"] is None
        time.sleep(1)
        assert texts(server, PHONE) == []

        held = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {
                "intermediate_session_token": again["intermediate_session_token"],
                "organization_id": org_id,
                "locale": "es",
            },
        )
        assert held["member_authenticated"] is False and held["session_token"] == ""
        assert held["mfa_required"] == {
            "member_options": {"mfa_phone_number": "XXXXXXX0123", "totp_registration_id": ""},
            "secondary_auth_initiated": "sms_otp",
        }
        deadline = time.monotonic() + 15
        while not texts(server, PHONE) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(texts(server, PHONE)) == 1
        assert "código de verificación" in texts(server, PHONE)[0]["body"]  # the exchange's locale

        # Session exchange from another organization texts too; a locale the texts are not
        # written in falls back to English rather than failing the login.
        elsewhere = post(
            api,
            "/v1/b2b/discovery/organizations/create",
            {"intermediate_session_token": login(server, api, "admin@clinic.com")["intermediate_session_token"]},
        )
        switched = post(
            api,
            "/v1/b2b/sessions/exchange",
            {"organization_id": org_id, "session_token": elsewhere["session_token"], "locale": "ja"},
        )
        assert switched["member_authenticated"] is False
        assert switched["mfa_required"]["secondary_auth_initiated"] == "sms_otp"
        deadline = time.monotonic() + 15
        while len(texts(server, PHONE)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "verification code" in texts(server, PHONE)[0]["body"]

        # Restricting the organization to TOTP: the phone is neither offered nor texted.
        api.put(f"/v1/b2b/organizations/{org_id}", json={"mfa_methods": "RESTRICTED", "allowed_mfa_methods": ["totp"]})
        third = login(server, api, "admin@clinic.com")
        restricted = post(
            api,
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": third["intermediate_session_token"], "organization_id": org_id},
        )
        assert restricted["mfa_required"] == {"member_options": None, "secondary_auth_initiated": None}
        time.sleep(1)
        assert len(texts(server, PHONE)) == 2
