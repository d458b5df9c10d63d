"""``kill -9`` of one worker of ``tenantry serve --workers 2`` in the middle of an onboarding
load (SQLite and PostgreSQL). What a crash may cost is the requests that worker was serving;
what it must not cost is consistency or mail:

- no organization without its admin (the founder member created in the same transaction),
- no member without its organization,
- no live session of a deleted member (sessions.authenticate refuses those tokens too),
- every mail the server queued is delivered, once per Message-ID: a lease the dead worker
  held lapses and another worker sends the mail.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reliability import invariants
from reliability.load import LOAD_ENV, REDIRECT_URL, Load

# Short leases so a mail leased by the killed worker is taken over within seconds, not a minute.
LEASE_SECONDS = 3
CLIENTS = 6


def worker_pids(master_pid: int) -> list[int]:
    """The uvicorn master's worker processes (its children other than multiprocessing helpers)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    pids = []
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in cmdline and b"forkserver" not in cmdline:
            pids.append(pid)
    return sorted(pids)


def wait_for_replacement(server: Any, master_pid: int, victim: int, timeout: float = 100) -> list[int]:
    """uvicorn's supervisor notices the dead worker and starts another one.

    Usually within a second; but when the kill lands while the supervisor waits for the victim's
    answer to a health ping, it waits out ``timeout_worker_healthcheck`` (60 s, tenantry.cli.serve)
    first: the pipe's far end stays open in the supervisor itself, so no EOF cuts the wait short.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = worker_pids(master_pid)
        log = server.log_path.read_text(errors="replace")
        if victim not in pids and len(pids) == 2 and log.count("Application startup complete") >= 3:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"no replacement worker for {victim} after {timeout}s:\n{server.log_tail()}")


def mail_burst(server: Any, count: int) -> list[str]:
    """Queue ``count`` mails at once, so the workers' delivery loops are busy at the kill."""
    emails = [f"burst{i}-{time.monotonic_ns()}@burst.example.com" for i in range(count)]
    with httpx.Client(base_url=server.base_url, auth=server.auth, timeout=20) as client:
        for email in emails:
            resp = client.post(
                "/v1/b2b/magic_links/email/discovery/send",
                json={"email_address": email, "discovery_redirect_url": REDIRECT_URL},
            )
            assert resp.status_code == 200, resp.text
    return emails


def test_kill_9_of_a_worker_under_load_loses_nothing_it_acknowledged(
    server_factory: Callable[..., Any], database_url: str
) -> None:
    server = server_factory(
        workers=2,
        env={**LOAD_ENV, "TENANTRY_MAIL_LEASE_SECONDS": str(LEASE_SECONDS), "TENANTRY_OUTBOX_POLL_SECONDS": "0.2"},
    )
    master = server._proc.pid
    before = worker_pids(master)
    assert len(before) == 2, f"expected 2 workers under {master}, found {before}"

    load = Load(server, clients=CLIENTS, tag="kill").start()
    try:
        assert load.wait_journeys(3, timeout=60), f"the load did not get going:\n{server.log_tail()}"
        burst = mail_burst(server, 12)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        after = wait_for_replacement(server, master, victim)
        # Service goes on: journeys that started after the kill complete.
        assert load.wait_journeys(CLIENTS, after=time.monotonic(), timeout=60), (
            f"no journeys completed after the kill:\n{server.log_tail()}"
        )
    finally:
        ledger = load.stop()
    for email in burst:
        ledger.mails[email] += 1

    answers = ledger.answers
    print(
        f"{len(ledger.journeys_done)} journeys, {len(answers)} requests, "
        f"{sum(1 for a in answers if a.status is None)} cut off by the kill; workers {before} -> {after}"
    )
    # The only acceptable failure is a connection the dead worker dropped: never a 5xx.
    assert all(a.status in (200, None) for a in answers), invariants.describe(a for a in answers if a.status != 200)
    # At most one request per client was in flight on (or pooled to) the dead worker.
    cut_off = [a for a in answers if a.status is None]
    assert len(cut_off) <= CLIENTS, [a.error for a in cut_off]
    assert not ledger.mail_failures, ledger.mail_failures

    counts = invariants.wait_for_outbox_to_drain(database_url, timeout=LEASE_SECONDS * 4 + 30)
    problems = [
        *invariants.database_problems(database_url, server.project_id, ledger),
        *invariants.session_problems(server.base_url, server.auth, ledger),
        *invariants.mail_problems(database_url, load.mailbox, ledger, counts),
    ]
    assert not problems, "\n".join(problems[:20])
    print(f"outbox {counts}; {invariants.redelivered(database_url)} mail(s) claimed more than once")
    log = server.log_path.read_text(errors="replace")
    assert re.search(rf"Child process \[{victim}\] died", log), log[-3000:]
    assert "unhandled error" not in log, log[-3000:]
