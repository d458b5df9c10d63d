"""A serving worker's cycle collector leaves its start-up heap alone (``tenantry.gc_pauses``)."""

from __future__ import annotations

import gc
from pathlib import Path

from starlette.testclient import TestClient

from tenantry.app import create_app
from tenantry.config import Settings
from tenantry.db.migrate import upgrade


def test_a_serving_worker_freezes_its_start_up_heap(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/t.db", dev_mailbox_dir=tmp_path / "mailbox"))
    upgrade(app.state.runtime.engine)
    before = gc.get_freeze_count()  # 0 unless another app of this process is serving
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        # The app's routes, engine and caches are among them: a full collection leaves them frozen
        # (a few may still leave the count when their last reference goes, which is fine).
        assert frozen > before and frozen > 10_000
        gc.collect()
        assert gc.get_freeze_count() > frozen * 0.9
    assert gc.get_freeze_count() == 0  # collectable again once the app stopped
