"""Outbox depth for Prometheus, counted in the database at scrape time.

The outboxes are shared by every worker (and every machine), so the database, not a process,
knows how much mail and SMS waits; a gauge kept in memory would be one worker's guess.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from tenantry.db.schema import outbox, sms_outbox

log = logging.getLogger("tenantry.metrics")

CHANNELS = {"email": outbox, "sms": sms_outbox}
STATES = ("queued", "dead")


class OutboxCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "tenantry_outbox_messages",
            "Messages in the outbox by channel and state: queued (waiting or retrying) or dead (given up).",
            labels=["channel", "state"],
        )
        up = GaugeMetricFamily("tenantry_outbox_scrape_ok", "1 if the outbox could be counted in the database.")
        try:
            counts = self._counts()
        except Exception as exc:  # a scrape during a database outage still answers
            log.warning("outbox depth unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        for channel in CHANNELS:
            for state in STATES:
                depth.add_metric([channel, state], counts.get((channel, state), 0))
        up.add_metric([], 1)
        yield depth
        yield up

    def _counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        with self.engine.connect() as conn:
            for channel, table in CHANNELS.items():
                rows = conn.execute(
                    sa.select(table.c.status, sa.func.count())
                    .where(table.c.status.in_(STATES))
                    .group_by(table.c.status)
                )
                for status, count in rows:
                    counts[(channel, status)] = int(count)
        return counts
