"""While PostgreSQL is down, the mail and SMS delivery loops (polling every 0.2 s here) each log
one warning, not a traceback per pass; when it is back, one info line each, and queued mail
still leaves.

Reminders come at most once a minute (tenantry.db.outage.REMIND_SECONDS); the outage here is a
few seconds, so none is due: ``test_outage_log_reminds_once_a_minute`` covers them with a clock.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prod_flow import sign_up
from sqlalchemy.exc import OperationalError

from tenantry.db.outage import OutageLog

LOOPS = {"tenantry.email": "outbox delivery", "tenantry.sms": "SMS outbox delivery"}


def _lines(server: Any) -> list[dict[str, Any]]:
    out = []
    for raw in server.log_path.read_text(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            out.append(line)
    return out


def test_delivery_loops_log_an_outage_once_and_its_end_once(private_postgres, private_postgres_server) -> None:
    server = private_postgres_server
    with server.client(timeout=10) as api:
        sign_up(server, api)
        private_postgres.stop_server("fast")
        time.sleep(4)  # ~20 polls of each loop
        private_postgres.start_server()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ended = [ln for ln in _lines(server) if "available again" in ln.get("message", "")]
            if len(ended) >= len(LOOPS):
                break
            time.sleep(0.2)
        # Delivery works again: a new sign-up's mail arrives.
        sign_up(server, api)
    server.stop()

    lines = _lines(server)
    for logger, what in LOOPS.items():
        mine = [ln for ln in lines if ln.get("logger") == logger]
        started = [ln for ln in mine if "database unavailable" in ln["message"]]
        ended = [ln for ln in mine if "available again" in ln["message"]]
        assert len(started) == 1, [ln["message"] for ln in mine]
        assert started[0]["level"] == "warning" and started[0]["message"].startswith(what + ":")
        assert "OperationalError" in started[0]["message"]
        assert len(ended) == 1 and ended[0]["level"] == "info", [ln["message"] for ln in mine]
        assert not [ln for ln in mine if "exception" in ln], "a traceback was logged during the outage"
        assert not [ln for ln in mine if "still unavailable" in ln["message"]]
    assert "Traceback" not in server.log_path.read_text(errors="replace")


def test_outage_log_reminds_once_a_minute(caplog) -> None:
    now = [1000.0]
    outage = OutageLog(logging.getLogger("tenantry.test"), "outbox delivery", now=lambda: now[0])
    error = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
    caplog.set_level(logging.INFO, logger="tenantry.test")
    outage.succeeded()  # nothing to say while all is well
    for _ in range(150):  # 150 passes, one every 0.5 s: 75 s of outage
        outage.failed(error)
        now[0] += 0.5
    outage.succeeded()
    outage.succeeded()
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        (
            "WARNING",
            "outbox delivery: database unavailable, retrying quietly: ConnectionRefusedError: connection refused",
        ),
        (
            "WARNING",
            "outbox delivery: database still unavailable after 60 s (121 failed passes): "
            "ConnectionRefusedError: connection refused",
        ),
        ("INFO", "outbox delivery: database available again after 75 s (150 failed passes)"),
    ], said
    assert "SELECT" not in str(said)
