"""Shared steps of the SMS tests: a clinic that requires MFA, a login that stops at MFA, and the
dev SMS outbox (the "phone" of a development server)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import stytch

REDIRECT_URL = "http://localhost:3000/authenticate"
ADMIN = "admin@clinic.com"


def dev_sms(server: Any, to: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.base_url}/dev/sms/api/messages?to={quote(to)}", timeout=10)
    resp.raise_for_status()
    messages = resp.json()
    assert isinstance(messages, list), messages
    return messages


def wait_for_sms(server: Any, to: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
    """Texts to ``to`` (newest first) once at least ``count`` have arrived."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        messages = dev_sms(server, to)
        if len(messages) >= count:
            return messages
        time.sleep(0.1)
    raise AssertionError(
        f"expected {count} text(s) to {to} within {timeout}s, got {len(messages)}\n{server.log_tail()}"
    )


def latest_code(server: Any, to: str, count: int = 1) -> str:
    newest = wait_for_sms(server, to, count=count)[0]
    assert len(newest["codes"]) == 1, newest
    return newest["codes"][0]


def discovery_ist(server: Any, client: stytch.B2BClient, email: str) -> str:
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token).intermediate_session_token


def clinic_requiring_mfa(server: Any, client: stytch.B2BClient, slug: str = "clinic") -> tuple[str, str]:
    """The admin creates a clinic (domain clinic.com joins by JIT) and switches it to
    ``mfa_policy: REQUIRED_FOR_ALL``; returns (organization_id, admin member_id)."""
    created = client.discovery.organizations.create(
        intermediate_session_token=discovery_ist(server, client, ADMIN),
        organization_name=slug.title(),
        organization_slug=slug,
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    org_id = created.organization.organization_id
    updated = client.organizations.update(organization_id=org_id, mfa_policy="REQUIRED_FOR_ALL")
    assert updated.organization.mfa_policy == "REQUIRED_FOR_ALL"
    return org_id, created.member.member_id


def login_stopped_at_mfa(server: Any, client: stytch.B2BClient, email: str, org_id: str) -> Any:
    """A discovery login into the clinic: the primary factor is done, the second is owed."""
    exchanged = client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=discovery_ist(server, client, email), organization_id=org_id
    )
    assert exchanged.member_authenticated is False, exchanged
    assert exchanged.intermediate_session_token
    assert exchanged.session_token == "" and exchanged.session_jwt == ""
    assert exchanged.mfa_required is not None
    return exchanged
