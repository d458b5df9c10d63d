"""PostgreSQL stopped (a crash: ``pg_ctl stop -m immediate``) and started again under an onboarding
load, with Tenantry left running throughout, on a cluster of this test's own.

- While the database is down every request is answered, quickly, with a Stytch-format 503: no
  hang, no dropped connection, no 500.
- Once it is back, service resumes without restarting Tenantry.
- Nothing acknowledged is lost: every organization, invitation, acceptance and deletion that got
  a 200 is in the database, its sessions work (or, for deleted members, are refused), and every
  mail a 200 promised is delivered, including those queued just before the outage.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from reliability import invariants
from reliability.load import LOAD_ENV, Answer, Load

CLIENTS = 4
DOWN_SECONDS = 4.0
# "Fast": far below the clients' 20 s timeout and any connect or pool timeout, so a 503 cannot
# come from waiting one out.
FAST_SECONDS = 2.0
RECOVERY_SECONDS = 20.0
ERROR_KEYS = {"status_code", "request_id", "error_type", "error_message", "error_url"}


def stytch_503(answer: Answer) -> bool:
    body = answer.body or {}
    return (
        answer.status == 503
        and set(body) == ERROR_KEYS
        and body["status_code"] == 503
        and all(isinstance(body[k], str) and body[k] for k in ("request_id", "error_type", "error_message"))
    )


@pytest.mark.postgres_only
def test_postgres_stopped_and_started_under_load(
    root_conftest: Any, private_postgres: Any, private_database_url: str, tmp_path: Any
) -> None:
    base = root_conftest
    server = base.TenantryServer(
        database_url=private_database_url,
        workdir=tmp_path / "server",
        env={**LOAD_ENV, "TENANTRY_MAIL_LEASE_SECONDS": "3", "TENANTRY_OUTBOX_POLL_SECONDS": "0.2"},
    ).start()
    try:
        load = Load(server, clients=CLIENTS, tag="pg").start()
        try:
            assert load.wait_journeys(3, timeout=60), f"the load did not get going:\n{server.log_tail()}"
            private_postgres.stop_server()
            down_at = time.monotonic()
            time.sleep(DOWN_SECONDS)
            up_at = time.monotonic()
            private_postgres.start_server()
            started_at = time.monotonic()
            recovered = load.wait_journeys(CLIENTS, after=started_at, timeout=60)
        finally:
            ledger = load.stop()
        assert server.running, "Tenantry exited during the outage"
        answers = sorted(ledger.answers, key=lambda a: a.started)
        print(
            f"{len(ledger.journeys_done)} journeys, {len(answers)} requests, "
            f"{sum(1 for a in answers if a.status == 503)} answered 503"
        )

        # While down: every answer a fast Stytch-format 503.
        while_down = [a for a in answers if a.started >= down_at and a.ended <= up_at]
        assert len(while_down) >= CLIENTS, f"too few requests while the database was down: {len(while_down)}"
        wrong = [a for a in while_down if not stytch_503(a)]
        assert not wrong, [(a.path, a.status, a.body) for a in wrong[:5]]
        slow = [a for a in while_down if a.seconds > FAST_SECONDS]
        assert not slow, [(a.path, round(a.seconds, 2)) for a in slow[:5]]

        # Never anything but a 200 or a 503; never a request left without an answer.
        assert all(a.status in (200, 503) for a in answers), invariants.describe(
            a for a in answers if a.status not in (200, 503)
        )
        assert all(stytch_503(a) for a in answers if a.status == 503)
        assert all(a.seconds < 10 for a in answers), max(a.seconds for a in answers)

        # After the start: full service, by itself.
        assert recovered, f"journeys did not resume after PostgreSQL came back:\n{server.log_tail()}"
        first_ok = next(a.started for a in answers if a.started >= started_at and a.status == 200)
        assert first_ok - started_at < RECOVERY_SECONDS
        late_503 = [a for a in answers if a.started > first_ok + 2 and a.status != 200]
        assert not late_503, invariants.describe(late_503)
        assert not ledger.mail_failures, ledger.mail_failures

        # Nothing acknowledged was lost.
        counts = invariants.wait_for_outbox_to_drain(private_database_url, timeout=45)
        problems = [
            *invariants.database_problems(private_database_url, server.project_id, ledger),
            *invariants.session_problems(server.base_url, server.auth, ledger),
            *invariants.mail_problems(private_database_url, load.mailbox, ledger, counts),
        ]
        assert not problems, "\n".join(problems[:20])
        assert "unhandled error" not in server.log_path.read_text(errors="replace")
    finally:
        server.stop()
