"""/metrics: request counts and latency per route template, outbox depth read from the database,
rate-limit refusals, optional bearer token, and one total across several workers."""

from __future__ import annotations

import json
import re
import time
import uuid

import httpx
import sqlalchemy as sa
from ports import free_port
from prometheus_client.parser import text_string_to_metric_families

from tenantry.db.engine import normalise_url


def scrape(server, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_per_route_template_never_per_raw_path(server):
    ids = [f"organization-test-{uuid.uuid4()}" for _ in range(3)]
    with server.client() as api:
        for org_id in ids:
            assert api.get(f"/v1/b2b/organizations/{org_id}").status_code == 404
        assert api.get("/no/such/route/" + ids[0]).status_code == 404
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    for org_id in ids:
        assert org_id not in text, "a raw path (with its id) became a label"
    samples = scrape(server)
    route = "/v1/b2b/organizations/{organization_id}"
    assert value(samples, "tenantry_http_requests_total", method="GET", route=route, status="404") == 3
    assert value(samples, "tenantry_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert value(samples, "tenantry_http_request_duration_seconds_sum", method="GET", route=route) > 0
    # Every bucket of a histogram is a cumulative count: the +Inf bucket holds them all.
    assert value(samples, "tenantry_http_request_duration_seconds_bucket", method="GET", route=route, le="+Inf") == 3
    assert value(samples, "tenantry_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # The secret that authenticated those calls appears nowhere.
    assert server.secret not in text


def test_outbox_depth_comes_from_the_database_at_scrape_time(server_factory):
    # A relay on a closed port: the mail stays queued, retried with back-off.
    server = server_factory(env={"TENANTRY_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    with server.client() as api:
        resp = api.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={
                "email_address": "queued@clinic.example",
                "discovery_redirect_url": "http://localhost:3000/authenticate",
            },
        )
        assert resp.status_code == 200, resp.text
    samples = scrape(server)
    assert value(samples, "tenantry_outbox_scrape_ok") == 1
    assert value(samples, "tenantry_outbox_messages", channel="email", state="queued") == 1
    assert value(samples, "tenantry_outbox_messages", channel="email", state="dead") == 0
    assert value(samples, "tenantry_outbox_messages", channel="sms", state="queued") == 0

    # Whoever changes the table (here: giving up on the mail), the next scrape sees it.
    engine = sa.create_engine(normalise_url(server.database_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE outbox SET status = 'dead'")
    engine.dispose()
    samples = scrape(server)
    assert value(samples, "tenantry_outbox_messages", channel="email", state="queued") == 0
    assert value(samples, "tenantry_outbox_messages", channel="email", state="dead") == 1


def test_rate_limit_refusals_are_counted_by_scope(server_factory):
    server = server_factory(env={"TENANTRY_RATE_LIMIT_EMAIL": "1/60s"})
    body = {"email_address": "busy@clinic.example", "discovery_redirect_url": "http://localhost:3000/authenticate"}
    with server.client() as api:
        assert api.post("/v1/b2b/magic_links/email/discovery/send", json=body).status_code == 200
        for _ in range(2):
            refused = api.post("/v1/b2b/magic_links/email/discovery/send", json=body)
            assert refused.status_code == 429 and refused.json()["error_type"] == "too_many_requests"
    samples = scrape(server)
    assert value(samples, "tenantry_rate_limited_total", scope="email") == 2
    assert value(samples, "tenantry_rate_limited_total", scope="ip") == 0
    route = "/v1/b2b/magic_links/email/discovery/send"
    assert value(samples, "tenantry_http_requests_total", method="POST", route=route, status="429") == 2


def test_metrics_token_is_asked_for_when_configured(server_factory):
    token = "metrics-" + uuid.uuid4().hex
    server = server_factory(env={"TENANTRY_METRICS_TOKEN": token})
    assert httpx.get(f"{server.base_url}/metrics", timeout=10).status_code == 401
    wrong = httpx.get(f"{server.base_url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    samples = scrape(server, Authorization=f"Bearer {token}")
    assert value(samples, "tenantry_outbox_scrape_ok") == 1


def test_a_scrape_adds_up_every_worker(server_factory):
    server = server_factory(workers=2)
    sent = 0
    pids: set[int] = set()
    deadline = time.monotonic() + 60
    path = f"/v1/b2b/sessions/jwks/{server.project_id}"
    # A new connection per request lets either worker accept it; go on until both have served.
    while time.monotonic() < deadline and (len(pids) < 2 or sent < 20):
        assert httpx.get(server.base_url + path, timeout=10).status_code == 200
        sent += 1
        if sent % 10 == 0:
            pids = served_by(server, path)
    pids = served_by(server, path)
    assert len(pids) == 2, f"one worker served all {sent} requests: {pids}"
    route = "/v1/b2b/sessions/jwks/{project_id}"
    for _ in range(4):  # whichever worker answers the scrape, it reports both workers' counts
        samples = scrape(server)
        assert value(samples, "tenantry_http_requests_total", method="GET", route=route, status="200") == sent


def served_by(server, path: str) -> set[int]:
    pids = set()
    for line in server.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "tenantry.access" and entry.get("path") == path:
                pids.add(entry["pid"])
    return pids


def test_metric_names_follow_prometheus_conventions(server):
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    names = set(re.findall(r"^# TYPE (tenantry_\w+) (\w+)$", text, flags=re.M))
    assert ("tenantry_http_requests", "counter") in names or ("tenantry_http_requests_total", "counter") in names
    assert ("tenantry_http_request_duration_seconds", "histogram") in names
    assert ("tenantry_outbox_messages", "gauge") in names
