"""Fixtures of the storage tests."""

from __future__ import annotations

import pytest

from tenantry.db import statistics


@pytest.fixture
def analysis_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL engines look for tables due an analysis every few seconds, in the background
    (``tenantry.db.statistics``). A test that analyses when it chooses, or needs a table left
    unanalysed, turns that off: it would race the test."""
    monkeypatch.setattr(statistics, "ANALYSIS_CHECK_SECONDS", 1e9)
