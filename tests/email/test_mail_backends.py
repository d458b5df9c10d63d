"""Which mail backend a server gets, and that the dev mailbox never exists in production."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tenantry.app import create_app
from tenantry.config import Settings


def test_production_without_smtp_refuses_to_start(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.db", mode="production")
    with pytest.raises(RuntimeError, match="TENANTRY_SMTP_URL"):
        create_app(settings)
    proc = subprocess.run(
        [sys.executable, "-m", "tenantry", "serve", "--database-url", f"sqlite:///{tmp_path}/t.db"],
        env={"TENANTRY_MODE": "production", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "TENANTRY_SMTP_URL" in proc.stderr


def test_dev_mailbox_is_not_served_in_production(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/t.db", mode="production", smtp_url="smtp://127.0.0.1:2525")
    with TestClient(create_app(settings)) as client:
        assert client.get("/dev/mailbox").status_code == 404
        response = client.get("/dev/mailbox/api/messages")
        assert response.status_code == 404
        assert response.json()["error_type"] == "route_not_found"
