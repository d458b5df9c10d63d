"""The project setting that puts an email OTP into magic-link mails (the fallback for a link opened
on another device), set with ``tenantry projects otp``: the code works where the link would, and
using either one retires the other."""

from __future__ import annotations

import secrets
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from otps.helpers import CODE_RE, REDIRECT_URL, code_in, error_of, post


def otp_cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantry", "projects", "otp", *args, "--database-url", server.database_url],
        capture_output=True,
        text=True,
        env=server.env(),
        cwd=server.workdir,
        timeout=60,
    )


def discovery_link_mail(server: Any, api: Any, email: str) -> dict[str, Any]:
    already = len(server.mailbox(email))
    post(
        api,
        "/v1/b2b/magic_links/email/discovery/send",
        {"email_address": email, "discovery_redirect_url": REDIRECT_URL},
    )
    return server.wait_for_mail(email, count=already + 1)[0]


def token_of(mail: dict[str, Any]) -> str:
    return parse_qs(urlsplit(mail["links"][0]).query)["token"][0]


def test_the_setting_is_off_until_the_operator_turns_it_on(server):
    email = f"off-{secrets.token_hex(3)}@example.com"
    shown = otp_cli(server, server.project_id)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "code_in_magic_link_email\toff"
    with server.client() as api:
        mail = discovery_link_mail(server, api, email)
    assert mail["links"] and not CODE_RE.findall(mail["text"])

    missing = otp_cli(server, "project-test-00000000-0000-4000-8000-000000000000", "--code-in-magic-link-email")
    assert missing.returncode == 1 and "No project" in missing.stderr


def test_a_discovery_link_and_its_code_are_one_proof(server):
    turned_on = otp_cli(server, server.project_id, "--code-in-magic-link-email")
    assert turned_on.returncode == 0 and turned_on.stdout.strip() == "code_in_magic_link_email\ton"
    email = f"device-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        # The code is used (on the device that asked): the link in the same mail is dead.
        mail = discovery_link_mail(server, api, email)
        code = code_in(mail)
        auth = post(api, "/v1/b2b/otps/email/discovery/authenticate", {"email_address": email, "code": code})
        assert auth["email_address"] == email and auth["intermediate_session_token"]
        used = api.post(
            "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token_of(mail)}
        )
        assert error_of(used) == (401, "unable_to_auth_magic_link")

        # The link is used: the code in the same mail is dead.
        mail = discovery_link_mail(server, api, email)
        post(api, "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token_of(mail)})
        spent = api.post(
            "/v1/b2b/otps/email/discovery/authenticate", json={"email_address": email, "code": code_in(mail)}
        )
        assert error_of(spent) == (401, "unable_to_auth_otp_code")

    turned_off = otp_cli(server, server.project_id, "--no-code-in-magic-link-email")
    assert turned_off.stdout.strip() == "code_in_magic_link_email\toff"
    with server.client() as api:
        assert not CODE_RE.findall(discovery_link_mail(server, api, email)["text"])


def test_an_organization_login_link_carries_a_code_the_organization_accepts(server):
    assert otp_cli(server, server.project_id, "--code-in-magic-link-email").returncode == 0
    slug = f"fallback-{secrets.token_hex(3)}"
    domain = f"{slug}.example.com"
    email = f"nurse@{domain}"
    with server.client() as api:
        org = post(
            api,
            "/v1/b2b/organizations",
            {
                "organization_name": "Fallback",
                "organization_slug": slug,
                "email_allowed_domains": [domain],
                "email_jit_provisioning": "RESTRICTED",
            },
        )["organization"]
        sent = post(
            api,
            "/v1/b2b/magic_links/email/login_or_signup",
            {"organization_id": org["organization_id"], "email_address": email, "signup_redirect_url": REDIRECT_URL},
        )
        mail = server.wait_for_mail(email)[0]
        authed = post(
            api,
            "/v1/b2b/otps/email/authenticate",
            {"organization_id": org["organization_id"], "email_address": email, "code": code_in(mail)},
        )
        assert authed["member_id"] == sent["member_id"] and authed["member_authenticated"] is True
        assert authed["member"]["status"] == "active"
        assert [f["type"] for f in authed["member_session"]["authentication_factors"]] == ["email_otp"]
        used = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": token_of(mail)})
        assert error_of(used) == (401, "unable_to_auth_magic_link")

        # An organization that allows only magic links gets no code in its mails.
        api.put(
            f"/v1/b2b/organizations/{org['organization_id']}",
            json={"auth_methods": "RESTRICTED", "allowed_auth_methods": ["magic_link"]},
        ).raise_for_status()
        post(
            api,
            "/v1/b2b/magic_links/email/login_or_signup",
            {"organization_id": org["organization_id"], "email_address": email, "login_redirect_url": REDIRECT_URL},
        )
        mail = server.wait_for_mail(email, count=2)[0]
        assert mail["links"] and not CODE_RE.findall(mail["text"])


def test_the_setting_counts_from_the_next_send_after_it_changes(server):
    """Sends learn the setting from the request's own project lookup: turned on or off by another
    process (the CLI here; another worker or machine in production), it holds for the next send."""
    email = f"toggle-{secrets.token_hex(3)}@example.com"
    with server.client() as api:
        assert not CODE_RE.findall(discovery_link_mail(server, api, email)["text"])
        assert otp_cli(server, server.project_id, "--code-in-magic-link-email").returncode == 0
        assert CODE_RE.findall(discovery_link_mail(server, api, email)["text"])
        assert otp_cli(server, server.project_id, "--no-code-in-magic-link-email").returncode == 0
        assert not CODE_RE.findall(discovery_link_mail(server, api, email)["text"])
