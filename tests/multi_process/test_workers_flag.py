"""``tenantry serve --workers 2`` (through ``python -m tenantry``, whose main module the worker
processes re-import) starts two workers that serve the API together."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from ports import free_port


def test_serve_with_two_workers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}, "PYTHONUNBUFFERED": "1"}
    env["TENANTRY_DEV_MAILBOX_DIR"] = str(tmp_path / "mailbox")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tenantry", "serve", "--workers", "2", "--port", str(port),
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
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=(project_id, secret), timeout=30) as client:
            for i in range(20):
                response = client.post(
                    "/v1/b2b/magic_links/email/discovery/send", json={"email_address": f"p{i}@clinic.com"}
                )
                assert response.status_code == 200, response.text
            # No TENANTRY_PUBLIC_URL: in development the links follow --port, in every worker.
            for i in range(20):
                link = _first_link(client, f"p{i}@clinic.com")
                assert link.startswith(f"http://127.0.0.1:{port}/links/continue?"), link
        assert f"Clinic portal: http://127.0.0.1:{port}/portal" in text
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
