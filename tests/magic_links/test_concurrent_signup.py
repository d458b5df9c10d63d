"""Concurrent first sign-ups of one email into one organization create one member, and every
caller gets the same successful answer (the unique constraint decides, never a 500)."""

from __future__ import annotations

import threading
from typing import Any

import httpx


def test_concurrent_login_or_signup_of_a_new_email_creates_one_member(server: Any) -> None:
    client = server.client()
    client.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": "owner@clinic.com"})
    token = server.latest_link_token("owner@clinic.com")
    ist = client.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}).json()[
        "intermediate_session_token"
    ]
    org_id = client.post(
        "/v1/b2b/discovery/organizations/create",
        json={
            "intermediate_session_token": ist,
            "organization_slug": "race-clinic",
            "email_allowed_domains": ["clinic.com"],
            "email_jit_provisioning": "RESTRICTED",
        },
    ).json()["organization"]["organization_id"]

    callers = 8
    barrier = threading.Barrier(callers)
    answers: list[httpx.Response] = []

    def sign_up() -> None:
        with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as own:
            barrier.wait()
            answers.append(
                own.post(
                    "/v1/b2b/magic_links/email/login_or_signup",
                    json={"organization_id": org_id, "email_address": "new@clinic.com"},
                )
            )

    threads = [threading.Thread(target=sign_up) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [200] * callers, [a.text for a in answers if a.status_code != 200]
    assert len({a.json()["member_id"] for a in answers}) == 1
    assert sum(a.json()["member_created"] for a in answers) == 1
    assert len(server.wait_for_mail("new@clinic.com", count=callers)) == callers
