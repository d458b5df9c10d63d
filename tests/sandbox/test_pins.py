"""``tenantry projects sandbox pin|list|unpin``: fixed codes and tokens for chosen test addresses.

A pinned value is issued like any other (single use, expiring); only its value is fixed, so a
workflow that takes a code or token as input runs unattended. Live projects never have pins.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import sqlalchemy as sa
from web.pages import open_and_click, query_of

PINNED = "robot@clinic.com"
TOKEN = "ci-pinned-token_0123456789abcdefABCDEF="
CODE = "424242"
REDIRECT_URL = "http://localhost:3000/authenticate"


def cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tenantry", "projects", "sandbox", *args, "--database-url", server.database_url]
    return subprocess.run(command, capture_output=True, text=True, env=server.env(), cwd=server.workdir, timeout=60)


def pin(server: Any, *args: str) -> None:
    done = cli(server, "pin", *args)
    assert done.returncode == 0, done.stderr


def discovery_link(server: Any, api: httpx.Client, email: str) -> str:
    already = len(server.mailbox(email))
    sent = api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email})
    assert sent.status_code == 200, sent.text
    return server.wait_for_mail(email, count=already + 1)[0]["links"][0]


def authenticate_discovery(api: httpx.Client, token: str) -> httpx.Response:
    return api.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token})


def test_a_pinned_magic_link_token_is_issued_single_use_every_time(server):
    pin(server, "--project", server.project_id, "--email", PINNED.upper(), "--magic-link-token", TOKEN)
    listed = cli(server, "list", "--project", server.project_id, "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert (entry["email_address"], entry["kind"], entry["value"]) == (PINNED, "magic_link", TOKEN)

    with server.client() as api:
        link = discovery_link(server, api, PINNED)
        assert query_of(link)["token"] == TOKEN
        # The Continue page works for it as for any link.
        clicked = open_and_click(server.base_url, link)
        assert clicked.status_code == 303 and query_of(clicked.headers["location"])["token"] == TOKEN
        assert authenticate_discovery(api, TOKEN).status_code == 200
        # Still single use ...
        assert authenticate_discovery(api, TOKEN).json()["error_type"] == "unable_to_auth_magic_link"
        # ... until the next mail, which issues it afresh.
        assert query_of(discovery_link(server, api, PINNED))["token"] == TOKEN
        assert authenticate_discovery(api, TOKEN).status_code == 200

        # Organization links to the pinned address carry it too; other addresses do not.
        org = api.post(
            "/v1/b2b/organizations",
            json={
                "organization_name": "Clinic",
                "email_allowed_domains": ["clinic.com"],
                "email_jit_provisioning": "RESTRICTED",
            },
        ).json()["organization"]
        sent = api.post(
            "/v1/b2b/magic_links/email/login_or_signup",
            json={"organization_id": org["organization_id"], "email_address": PINNED},
        )
        assert sent.status_code == 200, sent.text
        assert query_of(server.wait_for_mail(PINNED, count=3)[0]["links"][0])["token"] == TOKEN
        joined = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": TOKEN})
        assert joined.status_code == 200, joined.text
        assert query_of(discovery_link(server, api, "human@clinic.com"))["token"] != TOKEN

        unpinned = cli(server, "unpin", "--project", server.project_id, "--email", PINNED)
        assert unpinned.returncode == 0 and "removed 1" in unpinned.stdout
        assert query_of(discovery_link(server, api, PINNED))["token"] != TOKEN


def test_a_pinned_email_otp_code(server):
    pin(server, "--project", server.project_id, "--email", PINNED, "--otp-code", CODE)
    with server.client() as api:
        sent = api.post("/v1/b2b/otps/email/discovery/send", json={"email_address": PINNED})
        assert sent.status_code == 200, sent.text
        mail = server.wait_for_mail(PINNED)[0]
        assert CODE in mail["text"]
        done = api.post("/v1/b2b/otps/email/discovery/authenticate", json={"email_address": PINNED, "code": CODE})
        assert done.status_code == 200, done.text
        again = api.post("/v1/b2b/otps/email/discovery/authenticate", json={"email_address": PINNED, "code": CODE})
        assert again.status_code != 200, "a pinned code is still single use"


def test_pins_are_refused_where_they_make_no_sense(server):
    other_project, _ = server.create_project("Other")
    pin(server, "--project", server.project_id, "--email", PINNED, "--magic-link-token", TOKEN)
    cases = {
        "live": ["--project", _live_project(server)[0], "--email", PINNED, "--otp-code", CODE],
        "six digits": ["--project", server.project_id, "--email", PINNED, "--otp-code", "12345"],
        "another address": ["--project", server.project_id, "--email", "b@clinic.com", "--magic-link-token", TOKEN],
        "another project": ["--project", other_project, "--email", PINNED, "--magic-link-token", TOKEN],
        "Stytch's": ["--project", server.project_id, "--email", PINNED, "--magic-link-token", _SANDBOX_TOKEN],
        "sandbox@stytch.com": ["--project", server.project_id, "--email", "sandbox@stytch.com", "--otp-code", CODE],
        "no value": ["--project", server.project_id, "--email", PINNED],
        "no project": ["--project", "project-test-00000000-0000-0000-0000-000000000000", "--email", PINNED,
                       "--otp-code", CODE],
    }  # fmt: skip
    for why, args in cases.items():
        done = cli(server, "pin", *args)
        assert done.returncode == 2, f"{why}: {done.stdout} {done.stderr}"
        assert done.stderr.startswith("error: "), why
    listed = json.loads(cli(server, "list", "--json").stdout)
    assert [(p["project_id"], p["email_address"], p["kind"]) for p in listed] == [
        (server.project_id, PINNED, "magic_link")
    ]


_SANDBOX_TOKEN = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="


def _live_project(server: Any) -> tuple[str, str]:
    args = [sys.executable, "-m", "tenantry", "projects", "create", "--name", "Live", "--live", "--json"]
    args += ["--redirect-url", REDIRECT_URL, "--database-url", server.database_url]
    proc = subprocess.run(args, capture_output=True, text=True, env=server.env(), cwd=server.workdir, timeout=60)
    assert proc.returncode == 0, proc.stderr
    created = json.loads(proc.stdout.strip().splitlines()[-1])
    return created["project_id"], created["secret"]


def test_a_pin_written_into_a_live_project_is_ignored(server):
    """Even a pin row put into the database by hand does nothing for a live project."""
    live_id, live_secret = _live_project(server)
    engine = sa.create_engine(server.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO sandbox_pins (project_id, email_address, kind, value, created_at) "
                    "VALUES (:p, :e, 'magic_link', :v, CURRENT_TIMESTAMP)"
                ),
                {"p": live_id, "e": PINNED, "v": TOKEN},
            )
    finally:
        engine.dispose()
    with server.client(auth=(live_id, live_secret)) as api:
        token = query_of(discovery_link(server, api, PINNED))["token"]
    assert token != TOKEN


def test_a_pin_made_or_removed_while_the_server_runs_counts_from_the_next_send(server):
    """Sends learn whether the project has pins from the request's own project lookup: a pin
    made by another process (here the CLI; in production another worker or machine) is used by
    the very next send, and one removed is no longer used, with nothing cached in between."""
    with server.client() as api:
        assert query_of(discovery_link(server, api, PINNED))["token"] != TOKEN
        pin(server, "--project", server.project_id, "--email", PINNED, "--magic-link-token", TOKEN)
        assert query_of(discovery_link(server, api, PINNED))["token"] == TOKEN
        done = cli(server, "unpin", "--project", server.project_id, "--email", PINNED, "--kind", "magic_link")
        assert done.returncode == 0, done.stderr
        assert query_of(discovery_link(server, api, PINNED))["token"] != TOKEN
