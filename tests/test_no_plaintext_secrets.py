"""Canary scan: no issued token, secret or session JWT is stored or logged in plaintext.

A full discovery flow runs through a real server; every credential it hands out is collected.
Then the whole database is dumped (every row of every table, via reflection) and the server log
read, and none of the collected strings may appear in either.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.parse
from typing import Any

import sqlalchemy as sa

REDIRECT_URL = "http://localhost:3000/authenticate"


def dump_database(url: str) -> str:
    """``repr`` of every row of every table."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        assert metadata.tables, "no tables found: did the server run its migrations?"
        lines = []
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    lines.append(f"{table.name}: {tuple(row)!r}")
        return "\n".join(lines)
    finally:
        engine.dispose()


def leaked(canaries: dict[str, str], haystack: str) -> list[str]:
    found = []
    for label, value in canaries.items():
        for form in {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}:
            if form in haystack:
                found.append(label)
                break
    return found


def test_no_credential_appears_in_the_database_or_the_log(server):
    # A project made by the CLI: its secret never passes through the server's output.
    project_id, secret = server.create_project("Canary")
    api = server.client(auth=(project_id, secret))
    canaries: dict[str, str] = {"project secret": secret}
    sent: dict[str, int] = {}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = api.post(path, json=body)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    def login(email: str) -> str:
        post(
            "/v1/b2b/magic_links/email/discovery/send",
            {"email_address": email, "discovery_redirect_url": REDIRECT_URL},
        )
        sent[email] = sent.get(email, 0) + 1
        token = server.latest_link_token(email, count=sent[email])
        canaries[f"magic link token #{len(canaries)}"] = token
        return token

    def keep(label: str, body: dict[str, Any]) -> None:
        for key in ("intermediate_session_token", "session_token", "session_jwt"):
            if body.get(key):
                canaries[f"{label} {key}"] = body[key]

    with api:
        auth = post(
            "/v1/b2b/magic_links/discovery/authenticate",
            {"discovery_magic_links_token": login("a@canary.io")},
        )
        keep("first login", auth)
        created = post(
            "/v1/b2b/discovery/organizations/create",
            {
                "intermediate_session_token": auth["intermediate_session_token"],
                "organization_name": "Canary",
                "organization_slug": "canary",
                "email_allowed_domains": ["canary.io"],
                "email_jit_provisioning": "RESTRICTED",
            },
        )
        keep("create", created)
        keep(
            "session authenticate",
            post("/v1/b2b/sessions/authenticate", {"session_token": created["session_token"]}),
        )
        keep("jwt authenticate", post("/v1/b2b/sessions/authenticate", {"session_jwt": created["session_jwt"]}))
        org_id = created["organization"]["organization_id"]
        for email in ("a@canary.io", "b@canary.io"):
            again = post("/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": login(email)})
            keep(f"login {email}", again)
            listed = post(
                "/v1/b2b/discovery/organizations",
                {"intermediate_session_token": again["intermediate_session_token"]},
            )
            assert [d["organization"]["organization_id"] for d in listed["discovered_organizations"]] == [org_id]
            exchanged = post(
                "/v1/b2b/discovery/intermediate_sessions/exchange",
                {
                    "intermediate_session_token": again["intermediate_session_token"],
                    "organization_id": org_id,
                },
            )
            keep(f"exchange {email}", exchanged)
        # A link that is sent but never clicked is stored too (pending): it must be hashed as well.
        login("c@canary.io")

    canaries["default project secret"] = server.secret
    assert len(canaries) >= 14, sorted(canaries)

    # Mail bodies (which hold the links) live in the outbox until delivered, then are erased.
    # Every mail is in the mailbox already; give the outbox loop a bounded time to erase them.
    deadline = time.monotonic() + 15
    found = leaked(canaries, dump_database(server.database_url))
    while found and time.monotonic() < deadline:
        time.sleep(0.2)
        found = leaked(canaries, dump_database(server.database_url))
    server.stop()

    dump = dump_database(server.database_url)
    assert org_id in dump, "the dump does not even contain the organization: the scan would prove nothing"
    assert leaked(canaries, dump) == [], "plaintext credentials in the database"

    # The server printed the first project's credentials at start-up by design; everything
    # else, including the CLI-made project's secret, must never reach its log.
    log = server.log_path.read_text(errors="replace")
    log_canaries = {k: v for k, v in canaries.items() if k != "default project secret"}
    assert leaked(log_canaries, log) == [], "plaintext credentials in the server log"


def test_no_email_otp_code_appears_in_the_database_or_the_log(server):
    """Email OTP: codes spent and pending, at discovery and at an organization, and one riding in a
    magic-link mail, appear in neither the database nor the log; only their HMACs are stored. A
    bare six-digit code is searched as a token of its own, as for SMS codes above."""
    canaries: dict[str, str] = {}
    codes: dict[str, str] = {}
    turned_on = subprocess.run(
        [sys.executable, "-m", "tenantry", "projects", "otp", server.project_id, "--code-in-magic-link-email"]
        + ["--database-url", server.database_url],
        capture_output=True,
        text=True,
        env=server.env(),
        cwd=server.workdir,
        timeout=60,
    )
    assert turned_on.returncode == 0, turned_on.stderr

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = api.post(path, json=body)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    def keep(label: str, body: dict[str, Any]) -> None:
        for key in ("intermediate_session_token", "session_token", "session_jwt"):
            if body.get(key):
                canaries[f"{label} {key}"] = body[key]

    def mailed_code(label: str, email: str, path: str, body: dict[str, Any]) -> str:
        already = len(server.mailbox(email))
        post(path, {"email_address": email, **body})
        text = server.wait_for_mail(email, count=already + 1)[0]["text"]
        found = re.findall(r"(?m)(?:^|:[ \t]+)(\d{6})[ \t]*$", text)
        assert len(found) == 1, text
        codes[label] = found[0]
        return found[0]

    with server.client() as api:
        code = mailed_code("spent discovery code", "a@otp-canary.io", "/v1/b2b/otps/email/discovery/send", {})
        auth = post("/v1/b2b/otps/email/discovery/authenticate", {"email_address": "a@otp-canary.io", "code": code})
        keep("discovery", auth)
        created = post(
            "/v1/b2b/discovery/organizations/create",
            {
                "intermediate_session_token": auth["intermediate_session_token"],
                "organization_name": "OTP Canary",
                "organization_slug": "otp-canary",
                "email_allowed_domains": ["otp-canary.io"],
                "email_jit_provisioning": "RESTRICTED",
            },
        )
        keep("create", created)
        org_id = created["organization"]["organization_id"]
        code = mailed_code(
            "spent organization code",
            "b@otp-canary.io",
            "/v1/b2b/otps/email/login_or_signup",
            {"organization_id": org_id},
        )
        login = post(
            "/v1/b2b/otps/email/authenticate",
            {"organization_id": org_id, "email_address": "b@otp-canary.io", "code": code},
        )
        keep("organization login", login)
        # Sent and never used: stored, pending.
        mailed_code("pending discovery code", "c@otp-canary.io", "/v1/b2b/otps/email/discovery/send", {})
        mailed_code(
            "pending code in a magic-link mail",
            "d@otp-canary.io",
            "/v1/b2b/magic_links/email/discovery/send",
            {"discovery_redirect_url": REDIRECT_URL},
        )
        canaries["magic link token mailed with a code"] = server.latest_link_token("d@otp-canary.io")

    def found(haystack: str) -> list[str]:
        alone = [
            label for label, code in codes.items() if re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", haystack)
        ]
        return alone + leaked(canaries, haystack)

    # Mail bodies carry the codes until delivered; give the outbox loop a bounded time to erase them.
    deadline = time.monotonic() + 15
    while found(dump_database(server.database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    server.stop()

    dump = dump_database(server.database_url)
    assert dump.count("email_otps: ") == 4, "the dump lacks the four code rows: the scan would prove nothing"
    assert found(dump) == [], "plaintext email OTP codes or secrets in the database"
    assert found(server.log_path.read_text(errors="replace")) == [], "plaintext email OTP secrets in the server log"


def test_no_sms_code_appears_in_the_database_or_the_log(server):
    """SMS MFA: the codes (one spent, one still pending), the texts that carried them and the
    sessions they completed appear in neither the database nor the log. A bare six-digit code
    is searched as a token of its own (not inside longer runs of hex or digits, where any six
    digits turn up by chance)."""
    canaries: dict[str, str] = {}
    codes: dict[str, str] = {}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = api.post(path, json=body)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    def keep(label: str, body: dict[str, Any]) -> None:
        for key in ("intermediate_session_token", "session_token", "session_jwt"):
            if body.get(key):
                canaries[f"{label} {key}"] = body[key]

    def discovery_ist(email: str) -> str:
        already = len(server.mailbox(email))
        post(
            "/v1/b2b/magic_links/email/discovery/send", {"email_address": email, "discovery_redirect_url": REDIRECT_URL}
        )
        token = server.latest_link_token(email, count=already + 1)
        return post("/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})[
            "intermediate_session_token"
        ]

    def newest_text(phone: str, count: int) -> dict[str, Any]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            texts = api.get("/dev/sms/api/messages", params={"to": phone}).json()
            if len(texts) >= count:
                return texts[0]
            time.sleep(0.1)
        raise AssertionError(f"no text #{count} to {phone}")

    phone = "+12015550133"
    with server.client() as api:
        created = post(
            "/v1/b2b/discovery/organizations/create",
            {
                "intermediate_session_token": discovery_ist("admin@sms-canary.io"),
                "organization_name": "SMS Canary",
                "organization_slug": "sms-canary",
                "email_allowed_domains": ["sms-canary.io"],
                "email_jit_provisioning": "RESTRICTED",
            },
        )
        org_id = created["organization"]["organization_id"]
        updated = api.put(f"/v1/b2b/organizations/{org_id}", json={"mfa_policy": "REQUIRED_FOR_ALL"})
        assert updated.status_code == 200, updated.text

        stopped = post(
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": discovery_ist("nurse@sms-canary.io"), "organization_id": org_id},
        )
        keep("stopped at MFA", stopped)
        member_id, ist = stopped["member_id"], stopped["intermediate_session_token"]
        post(
            "/v1/b2b/otps/sms/send",
            {
                "organization_id": org_id,
                "member_id": member_id,
                "mfa_phone_number": phone,
                "intermediate_session_token": ist,
            },
        )
        text = newest_text(phone, 1)
        codes["spent SMS code"] = text["codes"][0]
        canaries["spent SMS text"] = text["body"]
        done = post(
            "/v1/b2b/otps/sms/authenticate",
            {
                "organization_id": org_id,
                "member_id": member_id,
                "code": text["codes"][0],
                "intermediate_session_token": ist,
            },
        )
        keep("SMS MFA", done)
        # The next login sends a code by itself; it is never used, so it stays stored (pending).
        again = post(
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": discovery_ist("nurse@sms-canary.io"), "organization_id": org_id},
        )
        keep("second login", again)
        pending = newest_text(phone, 2)
        codes["pending SMS code"] = pending["codes"][0]
        canaries["pending SMS text"] = pending["body"]
    server.stop()

    def bare(haystack: str) -> list[str]:
        alone = {label: re.compile(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])") for label, code in codes.items()}
        return [label for label, pattern in alone.items() if pattern.search(haystack)]

    dump = dump_database(server.database_url)
    assert phone in dump and org_id in dump, "the dump lacks the member's phone: the scan would prove nothing"
    assert leaked(canaries, dump) == [], "plaintext SMS secrets in the database"
    assert bare(dump) == [], "a plaintext SMS code in the database"
    log = server.log_path.read_text(errors="replace")
    assert leaked(canaries, log) == [] and bare(log) == [], "plaintext SMS secrets in the server log"


def test_no_totp_secret_or_recovery_code_appears_in_the_database_or_the_log(server):
    """MFA: TOTP secrets (one verified, one left unverified) and recovery codes (issued, rotated
    out, spent, still unused) are stored only sealed (AES-GCM) or as keyed digests; the sessions
    they complete are digests too. None appears in the database dump or the server log."""
    import pyotp

    canaries: dict[str, str] = {}

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = api.post(path, json=body)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
        return resp.json()

    def keep(label: str, body: dict[str, Any]) -> None:
        for key in ("intermediate_session_token", "session_token", "session_jwt"):
            if body.get(key):
                canaries[f"{label} {key}"] = body[key]

    def secrets_of(label: str, enrolment: dict[str, Any]) -> None:
        canaries[f"{label} TOTP secret"] = enrolment["secret"]
        for i, code in enumerate(enrolment["recovery_codes"]):
            canaries[f"{label} recovery code {i}"] = code
            canaries[f"{label} recovery code {i} undashed"] = code.replace("-", "")

    def discovery_ist(email: str) -> str:
        already = len(server.mailbox(email))
        post(
            "/v1/b2b/magic_links/email/discovery/send", {"email_address": email, "discovery_redirect_url": REDIRECT_URL}
        )
        token = server.latest_link_token(email, count=already + 1)
        return post("/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})[
            "intermediate_session_token"
        ]

    def settle() -> None:
        left = 30 - time.time() % 30
        if left < 4:
            time.sleep(left + 0.2)

    with server.client() as api:
        created = post(
            "/v1/b2b/discovery/organizations/create",
            {
                "intermediate_session_token": discovery_ist("admin@totp-canary.io"),
                "organization_name": "TOTP Canary",
                "organization_slug": "totp-canary",
                "email_allowed_domains": ["totp-canary.io"],
                "email_jit_provisioning": "RESTRICTED",
                "mfa_policy": "REQUIRED_FOR_ALL",
            },
        )
        keep("create", created)
        org_id, member_id = created["organization"]["organization_id"], created["member_id"]
        ist = created["intermediate_session_token"]
        enrolment = post(
            "/v1/b2b/totp", {"organization_id": org_id, "member_id": member_id, "intermediate_session_token": ist}
        )
        secrets_of("verified", enrolment)
        settle()
        done = post(
            "/v1/b2b/totp/authenticate",
            {
                "organization_id": org_id,
                "member_id": member_id,
                "code": pyotp.TOTP(enrolment["secret"]).now(),
                "intermediate_session_token": ist,
            },
        )
        keep("TOTP", done)
        fetched = api.get(f"/v1/b2b/recovery_codes/{org_id}/{member_id}").json()
        assert fetched["recovery_codes"] == enrolment["recovery_codes"]
        rotated = post("/v1/b2b/recovery_codes/rotate", {"organization_id": org_id, "member_id": member_id})
        secrets_of("rotated", {"secret": enrolment["secret"], "recovery_codes": rotated["recovery_codes"]})
        recovered = post(
            "/v1/b2b/recovery_codes/recover",
            {
                "organization_id": org_id,
                "member_id": member_id,
                "recovery_code": rotated["recovery_codes"][0],
                "session_token": done["session_token"],
            },
        )
        keep("recovery", recovered)
        # A colleague starts enrolling and never finishes: that secret is stored too.
        joined = post(
            "/v1/b2b/discovery/intermediate_sessions/exchange",
            {"intermediate_session_token": discovery_ist("nurse@totp-canary.io"), "organization_id": org_id},
        )
        keep("colleague", joined)
        pending = post(
            "/v1/b2b/totp",
            {
                "organization_id": org_id,
                "member_id": joined["member_id"],
                "intermediate_session_token": joined["intermediate_session_token"],
            },
        )
        secrets_of("unverified", pending)
    server.stop()

    assert len(canaries) >= 60, sorted(canaries)
    dump = dump_database(server.database_url)
    assert enrolment["totp_registration_id"] in dump and "v1." in dump, "no sealed TOTP row: the scan proves nothing"
    assert leaked(canaries, dump) == [], "plaintext MFA secrets in the database"
    assert leaked(canaries, dump.lower()) == [] and leaked(canaries, dump.upper()) == [], "MFA secrets, case changed"
    log = server.log_path.read_text(errors="replace")
    assert leaked(canaries, log) == [], "plaintext MFA secrets in the server log"
