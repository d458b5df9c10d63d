"""Inputs the long schemathesis run found answered with a 500, kept as fixed cases.

PostgreSQL refuses NUL in text (psycopg ``DataError``): a ``%00`` member_id query parameter
(seed 7) and a ``\\u0000`` in totp/authenticate's member_id (seed 42) came back as 500s. The same
class on both databases: a JSON escape of an unpaired surrogate (``\\uda6c`` alone) has no UTF-8
form, so hashing such a session token raised UnicodeEncodeError, a 500. Such a string can be no
valid token, id or name, so Tenantry refuses it up front with Stytch's 400 ``invalid_argument``.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

ORG = "organization-test-22eef2f2-c87a-43ca-8315-cdb1d601bb0a"


# name -> (method, path, query parameters, raw JSON body)
CASES: dict[str, tuple[str, str, dict[str, str] | None, str | None]] = {
    "query-nul": ("GET", f"/v1/b2b/organizations/{ORG}/member", {"member_id": "\x00"}, None),
    "path-nul": ("GET", "/v1/b2b/organizations/%00", None, None),
    "body-nul": (
        "POST",
        "/v1/b2b/totp/authenticate",
        None,
        '{"organization_id": "o", "member_id": "x\\u0000", "code": "1"}',
    ),
    "body-surrogate": (
        "POST",
        "/v1/b2b/totp/authenticate",
        None,
        '{"organization_id": "o", "member_id": "m", "code": "1", "session_token": "\\uda6cx"}',
    ),
    "session-surrogate": ("POST", "/v1/b2b/sessions/authenticate", None, '{"session_token": "\\udead"}'),
    "name-nul": ("POST", "/v1/b2b/organizations", None, '{"organization_name": "A\\u0000B"}'),
    # Not a 500 but a schema-violating request accepted (schemathesis ST201): Stytch's schema
    # requires a role's description and permissions; they were filled in with defaults.
    "role-without-permissions": (
        "PUT",
        f"/v1/b2b/rbac/organizations/{ORG}",
        None,
        '{"org_policy": {"roles": [{"role_id": "x", "description": ""}]}}',
    ),
    "key-nul": ("POST", "/v1/b2b/magic_links/email/discovery/send", None, '{"email_address": "a@b.com", "\\u0000": 1}'),
}


def test_unstorable_strings_are_refused_with_a_stytch_400_or_401(server: Any) -> None:
    answers = {}
    with server.client() as client:
        for name, (method, path, params, body) in CASES.items():
            headers = {"content-type": "application/json"} if body else None
            resp = client.request(method, path, params=params, content=body, headers=headers)
            answers[name] = (resp.status_code, resp.json().get("error_type"))
    assert answers == dict.fromkeys(CASES, (400, "invalid_argument"))
    assert "unhandled error" not in server.log_path.read_text(errors="replace")

    # A NUL in the project's credentials is a wrong password, not a database error.
    token = base64.b64encode(f"{server.project_id}\x00:{server.secret}".encode()).decode()
    resp = httpx.post(
        f"{server.base_url}/v1/b2b/sessions/authenticate",
        json={"session_token": "x"},
        headers={"authorization": f"Basic {token}"},
        timeout=10,
    )
    assert (resp.status_code, resp.json()["error_type"]) == (401, "unauthorized_credentials"), resp.text
