"""Mail that cannot be delivered is not silently dropped: after its last attempt it is "dead", and
the operator sees it, with the last error, in the dev mailbox page, its JSON API and
``tenantry mail status``; ``tenantry mail retry`` sends it again under the same Message-ID."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from typing import Any

import httpx
from mailtest import run_cli


def _outbox_state(server: Any) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/dev/mailbox/api/outbox", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


def test_dead_letters_are_shown_and_can_be_retried(server_factory: Callable[..., Any]) -> None:
    server = server_factory(env={"TENANTRY_MAIL_MAX_ATTEMPTS": "2"})
    # Break the dev mailbox: its Maildir's tmp/ becomes a file, so every write fails.
    tmp_dir = server.mailbox_dir / "tmp"
    shutil.rmtree(tmp_dir)
    tmp_dir.write_text("not a directory")

    with server.client() as api:
        sent = api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": "lost@clinic.com"})
    assert sent.status_code == 200, sent.text
    # Attempt 1 fails, the retry 2 s later fails too, and then the mail is dead.
    _wait(lambda: _outbox_state(server)["counts"]["dead"] == 1, "the mail is dead")
    state = _outbox_state(server)
    assert state["counts"] == {"queued": 0, "sent": 0, "dead": 1}
    (dead,) = state["dead"]
    assert dead["to"] == "lost@clinic.com" and dead["attempts"] == 2
    assert dead["subject"] == "Your sign-in link"
    assert "NotADirectoryError" in dead["last_error"]
    assert dead["project_id"] == server.project_id

    page = httpx.get(f"{server.base_url}/dev/mailbox", timeout=10)
    assert page.status_code == 200
    assert "Undeliverable mail (1)" in page.text
    assert "lost@clinic.com" in page.text and "NotADirectoryError" in page.text
    assert server.mailbox("lost@clinic.com") == []

    status = run_cli("mail", "status", "--database-url", server.database_url, env=server.env())
    assert status.returncode == 0, status.stderr
    assert "dead\t1" in status.stdout
    assert dead["id"] in status.stdout and "lost@clinic.com" in status.stdout

    refused = run_cli("mail", "retry", "no-such-id", "--database-url", server.database_url, env=server.env())
    assert refused.returncode == 2 and "no dead letter" in refused.stderr

    # Repair the mailbox and send the dead letter again: it arrives under its original Message-ID.
    tmp_dir.unlink()
    tmp_dir.mkdir()
    retried = run_cli("mail", "retry", dead["id"], "--database-url", server.database_url, env=server.env())
    assert retried.returncode == 0, retried.stderr
    assert "requeued\t1" in retried.stdout
    (message,) = server.wait_for_mail("lost@clinic.com")
    assert message["subject"] == "Your sign-in link"
    # The dev mailbox names each file after the Message-ID's digest.
    assert message["id"] == hashlib.sha256(dead["message_id"].encode()).hexdigest()[:32]
    _wait(lambda: _outbox_state(server)["counts"] == {"queued": 0, "sent": 1, "dead": 0}, "the mail is sent")
    assert "Undeliverable" not in httpx.get(f"{server.base_url}/dev/mailbox", timeout=10).text
