"""Single-use tokens stay single-use under a burst of concurrent requests (SQLite and PostgreSQL).

All requests are prepared first (one connected HTTP client per thread), then released together by
one barrier, so they race inside the server rather than queueing in the test.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx

REDIRECT_URL = "http://localhost:3000/authenticate"


def race(server: Any, path: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """POST each body to ``path`` from its own thread, all released at once; (status, json) each."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict[str, Any]] | BaseException | None] = [None] * len(bodies)
    clients = [httpx.Client(base_url=server.base_url, auth=server.auth, timeout=60) for _ in bodies]
    # Open each connection before the barrier so the burst is the requests, not TCP handshakes.
    for client in clients:
        assert client.get("/healthz").status_code == 200

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            resp = clients[i].post(path, json=bodies[i])
            results[i] = (resp.status_code, resp.json())
        except BaseException as exc:  # reported below, with the others
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    assert not any(thread.is_alive() for thread in threads), "requests still running after 120 s"
    failures = [r for r in results if not isinstance(r, tuple)]
    assert not failures, f"{len(failures)} requests failed in the client: {failures[:3]}\n{server.log_tail()}"
    return results  # type: ignore[return-value]


def discovery_token(server: Any, email: str) -> str:
    """Send a discovery magic link to ``email`` and return the token from the new mail."""
    already = len(server.mailbox(email))
    with server.client() as client:
        resp = client.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={"email_address": email, "discovery_redirect_url": REDIRECT_URL},
        )
        assert resp.status_code == 200, resp.text
    return server.latest_link_token(email, count=already + 1)


def summary(results: list[tuple[int, dict[str, Any]]]) -> Counter[tuple[int, str]]:
    return Counter((status, body.get("error_type", "")) for status, body in results)


def test_one_magic_link_token_authenticates_exactly_once_under_100_concurrent_requests(server):
    token = discovery_token(server, "race@clinic.com")
    results = race(
        server,
        "/v1/b2b/magic_links/discovery/authenticate",
        [{"discovery_magic_links_token": token}] * 100,
    )
    counts = summary(results)
    assert counts == Counter({(200, ""): 1, (401, "unable_to_auth_magic_link"): 99}), counts
    winner = next(body for status, body in results if status == 200)
    assert winner["email_address"] == "race@clinic.com" and winner["intermediate_session_token"]


def test_one_intermediate_session_creates_exactly_one_organization_under_20_concurrent_requests(server):
    email = "founder@clinic.com"
    with server.client() as client:
        resp = client.post(
            "/v1/b2b/magic_links/discovery/authenticate",
            json={"discovery_magic_links_token": discovery_token(server, email)},
        )
        assert resp.status_code == 200, resp.text
        ist = resp.json()["intermediate_session_token"]

    # Distinct names and slugs: only the IST's single use can stop the losers.
    bodies = [
        {
            "intermediate_session_token": ist,
            "organization_name": f"Clinic {i}",
            "organization_slug": f"clinic-{i}",
        }
        for i in range(20)
    ]
    results = race(server, "/v1/b2b/discovery/organizations/create", bodies)
    counts = summary(results)
    assert counts[(200, "")] == 1, counts
    assert counts == Counter({(200, ""): 1, (404, "intermediate_session_not_found"): 19}), counts

    # The losers left nothing behind: a new login discovers exactly the winner's organization.
    winner = next(body for status, body in results if status == 200)
    with server.client() as client:
        resp = client.post(
            "/v1/b2b/magic_links/discovery/authenticate",
            json={"discovery_magic_links_token": discovery_token(server, email)},
        )
        assert resp.status_code == 200, resp.text
    discovered = resp.json()["discovered_organizations"]
    assert [d["organization"]["organization_id"] for d in discovered] == [winner["organization"]["organization_id"]]
