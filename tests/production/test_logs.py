"""Every log line is one JSON object with the request id, and no credential reaches the log."""

from __future__ import annotations

import json
import urllib.parse

from prod_flow import sign_up

FIELDS = {"timestamp", "level", "logger", "message", "pid"}


def log_entries(server) -> list[dict]:
    entries = []
    lines = server.log_path.read_text(errors="replace").splitlines()
    # `tenantry serve` first prints for people (project, URLs), then the server starts logging.
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    assert first <= 10, lines[:first]
    for line in lines[first:]:
        entry = json.loads(line)  # anything else that is not one JSON object fails here
        assert isinstance(entry, dict) and FIELDS <= entry.keys(), line
        entries.append(entry)
    return entries


def test_every_line_is_json_and_carries_the_request_id(server_factory):
    server = server_factory(env={"TENANTRY_RATE_LIMIT_EMAIL": "1/60s"})
    body = {"email_address": "twice@clinic.example", "discovery_redirect_url": "http://localhost:3000/authenticate"}
    with server.client() as api:
        first = api.post("/v1/b2b/magic_links/email/discovery/send", json=body)
        refused = api.post("/v1/b2b/magic_links/email/discovery/send", json=body)
    assert first.status_code == 200 and refused.status_code == 429
    for resp in (first, refused):
        assert resp.headers["x-request-id"] == resp.json()["request_id"]
    server.stop()

    entries = log_entries(server)
    loggers = {e["logger"] for e in entries}
    assert {"uvicorn.error", "tenantry.access", "tenantry.ratelimit"} <= loggers, loggers
    access = {e["request_id"]: e for e in entries if e["logger"] == "tenantry.access"}
    assert access[first.json()["request_id"]]["status"] == 200
    assert access[refused.json()["request_id"]]["status"] == 429
    assert access[refused.json()["request_id"]]["route"] == "/v1/b2b/magic_links/email/discovery/send"
    # A line written by the domain code, in a worker thread, knows the request it served.
    (limited,) = [e for e in entries if e["logger"] == "tenantry.ratelimit"]
    assert limited["request_id"] == refused.json()["request_id"]
    assert limited["scope"] == "email" and limited["level"] == "info"


def test_no_token_secret_or_jwt_reaches_the_log(server):
    # A project made by the CLI: its secret never passes through the server's own output.
    project_id, secret = server.create_project("Log canary")
    with server.client(auth=(project_id, secret)) as api:
        flow = sign_up(server, api)
        assert api.get(f"/v1/b2b/organizations/{flow.organization_id}").status_code == 200
        bad = api.post("/v1/b2b/sessions/authenticate", json={"session_token": flow.session_token + "x"})
        assert bad.status_code == 404
    server.stop()
    canaries = {"project secret": secret, **flow.credentials}
    log = server.log_path.read_text(errors="replace")
    assert flow.organization_id in log, "the log does not show the flow at all: the scan would prove nothing"
    leaked = [
        label
        for label, value in canaries.items()
        if any(form in log for form in {value, urllib.parse.quote(value, safe=""), value.split(".")[-1]})
    ]
    assert leaked == [], f"credentials in the log: {leaked}"
