"""``tenantry serve --workers 2`` (through ``python -m tenantry``, whose main module the worker
processes re-import) starts two workers that serve the API together, and in development every
address it mails or prints follows ``--host``/``--port`` (an IPv6 host in brackets)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ports import free_port


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_serve_with_two_workers(tmp_path: Path, host: str) -> None:
    port = free_port()
    origin = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    log = tmp_path / "server.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}, "PYTHONUNBUFFERED": "1"}
    env["TENANTRY_DEV_MAILBOX_DIR"] = str(tmp_path / "mailbox")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tenantry", "serve", "--workers", "2", "--host", host, "--port", str(port),
             "--database-url", f"sqlite:///{tmp_path}/t.db"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and log.read_text().count("Application startup complete") < 2:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.3)
        text = log.read_text()
        assert text.count("Application startup complete") == 2, text
        assert "died" not in text
        project_id = re.search(r"project_id: (\S+)", text).group(1)  # type: ignore[union-attr]
        secret = re.search(r"secret:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        with httpx.Client(base_url=origin, auth=(project_id, secret), timeout=30) as client:
            for i in range(20):
                response = client.post(
                    "/v1/b2b/magic_links/email/discovery/send", json={"email_address": f"p{i}@clinic.com"}
                )
                assert response.status_code == 200, response.text
            # No TENANTRY_PUBLIC_URL: in development the links follow --host/--port, in every worker.
            for i in range(20):
                link = _first_link(client, f"p{i}@clinic.com")
                assert link.startswith(f"{origin}/links/continue?"), link
        # The portal calls the API at the same address: its sign-in mails a link there too.
        with httpx.Client(base_url=origin, follow_redirects=True, timeout=30) as browser:
            page = browser.get("/portal/sign-in")
            assert page.status_code == 200, page.text
            hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
            sent = browser.post("/portal/sign-in", data={**hidden, "email": "owner@clinic.com"})
            assert sent.status_code == 200 and "Check your email" in sent.text, sent.text
        with httpx.Client(base_url=origin, timeout=30) as client:
            assert _first_link(client, "owner@clinic.com").startswith(f"{origin}/links/continue?")
        assert f"Clinic portal: {origin}/portal" in text
        assert f'environment="{origin}"' in text and f"Dev mailbox: {origin}/dev/mailbox" in text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _first_link(client: httpx.Client, to: str) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        messages = client.get("/dev/mailbox/api/messages", params={"to": to}).json()
        if messages:
            return str(messages[0]["links"][0])
        time.sleep(0.1)
    raise AssertionError(f"no mail to {to}")
