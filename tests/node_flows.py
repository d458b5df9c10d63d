"""Running a Node SDK flow (tests/node/*.mjs) against a live Tenantry server.

Each script drives the official `stytch` npm package, asserts as it goes, prints its last line
("OK…") and exits non-zero with the failing step. A missing node or SDK skips locally and fails
in CI, where a skipped SDK test would silently prove nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"


def node_binary() -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not on PATH"
    elif not (NODE_DIR / "node_modules" / "stytch").is_dir():
        missing = "the Stytch Node SDK is not installed: run `npm ci --prefix tests/node`"
    if missing or node is None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI is set, so this is an error, not a skip)")
        pytest.skip(str(missing))
    return node


def run_node_flow(server: Any, script: str, *, expect: str, timeout: float = 90) -> str:
    """Run ``tests/node/<script>`` against ``server``; its output must end with ``expect``.
    The script's own watchdog fires 30 s before ours, so a hang reports its step."""
    env = {
        **os.environ,
        "TENANTRY_URL": server.base_url,
        "PROJECT_ID": server.project_id,
        "SECRET": server.secret,
        "FLOW_TIMEOUT_MS": str(int((timeout - 30) * 1000)),
    }
    proc = subprocess.run(
        [node_binary(), str(NODE_DIR / script)], capture_output=True, text=True, timeout=timeout, env=env, cwd=NODE_DIR
    )
    print(proc.stdout)
    assert proc.returncode == 0, (
        f"{script} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\nserver log:\n{server.log_tail()}"
    )
    assert proc.stdout.strip().endswith(expect), proc.stdout
    return proc.stdout
