"""``tenantry serve`` limits malloc arenas (``tenantry.memory``), for itself and its workers,
unless ``MALLOC_ARENA_MAX`` says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = "import os; from tenantry.memory import limit_malloc_arenas as f; print(f(), os.environ['MALLOC_ARENA_MAX'])"


def _probe(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_limit_is_taken_and_passed_on_to_workers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _probe(env).split() == ["True", "2"]


def test_an_explicit_setting_is_left_alone() -> None:
    assert _probe({**os.environ, "MALLOC_ARENA_MAX": "4"}).split() == ["False", "4"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_serve_workers_start_with_the_limit(tmp_path: Path, root_conftest: Any) -> None:
    server = root_conftest.TenantryServer(
        database_url=f"sqlite:///{tmp_path / 't.db'}", workdir=tmp_path / "srv", workers=2
    )
    server.start()
    try:
        master = server._proc.pid  # type: ignore[union-attr]
        workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        assert workers
        for pid in workers:
            # A process's environment as it started: what glibc read.
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_ARENA_MAX=2" in environ
    finally:
        server.stop()
