"""While PostgreSQL is down, requests fail fast with Stytch's 503 ``server_unavailable`` and
/readyz says so; when it is back, the same server process serves again by itself.

The test runs its own throwaway cluster, so stopping it disturbs no other test.
"""

from __future__ import annotations

import time

import httpx
from prod_flow import sign_up

# Well under the SDKs' own timeouts and under one connect timeout (TENANTRY_DB_CONNECT_TIMEOUT).
FAST = 1.5


def test_requests_fail_fast_while_the_database_is_down_and_recover_without_restart(
    private_postgres, private_postgres_server
):
    server = private_postgres_server
    try:
        api = server.client(timeout=10)
        flow = sign_up(server, api)
        body = {"session_token": flow.session_token}
        assert api.post("/v1/b2b/sessions/authenticate", json=body).status_code == 200

        private_postgres.stop_server("fast")
        slowest = 0.0
        for _ in range(10):
            started = time.monotonic()
            resp = api.post("/v1/b2b/sessions/authenticate", json=body)
            slowest = max(slowest, time.monotonic() - started)
            assert resp.status_code == 503, resp.text
            error = resp.json()
            assert error["status_code"] == 503
            assert error["error_type"] == "server_unavailable"
            assert error["request_id"] == resp.headers["x-request-id"]
            assert error["error_message"] and error["error_url"]
            assert resp.headers["retry-after"] == "1"
        assert slowest < FAST, f"a 503 took {slowest:.2f} s"
        started = time.monotonic()
        ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["error_type"] == "server_unavailable"
        assert time.monotonic() - started < FAST
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        # Other routes answer the same way (here: an organization read and a send).
        org = api.get(f"/v1/b2b/organizations/{flow.organization_id}")
        assert org.status_code == 503 and org.json()["error_type"] == "server_unavailable"

        private_postgres.start_server()
        deadline = time.monotonic() + 20
        ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
        while ready.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert server.running, "the server must recover without a restart"
        again = api.post("/v1/b2b/sessions/authenticate", json=body)
        assert again.status_code == 200, again.text
        assert again.json()["member"]["member_id"] == flow.member_id
        # Writes work again too: a whole new sign-up.
        sign_up(server, api)
        api.close()
    finally:
        server.stop()
    print(f"slowest 503 while PostgreSQL was down: {slowest * 1000:.0f} ms")
