"""The official Stytch Node SDK (npm `stytch`, pinned in tests/node/package.json) drives the
tutorial's discovery flow against a live Tenantry server, on SQLite and PostgreSQL.

All assertions live in tests/node/discovery_flow.mjs; it exits non-zero with the failing step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "discovery_flow.mjs"
TIMEOUT = 90  # the script has its own 60 s watchdog and 10 s per-request timeouts


def _node() -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not on PATH"
    elif not (NODE_DIR / "node_modules" / "stytch").is_dir():
        missing = "the Stytch Node SDK is not installed: run `npm ci --prefix tests/node`"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI is set, so this is an error, not a skip)")
        pytest.skip(missing)
    return node


def test_node_sdk_discovery_flow(server):
    node = _node()
    env = {
        **os.environ,
        "TENANTRY_URL": server.base_url,
        "PROJECT_ID": server.project_id,
        "SECRET": server.secret,
        "FLOW_TIMEOUT_MS": "60000",
    }
    started = time.monotonic()
    proc = subprocess.run([node, str(SCRIPT)], capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=NODE_DIR)
    elapsed = time.monotonic() - started
    print(proc.stdout)
    print(f"node discovery flow: exit {proc.returncode} in {elapsed:.1f}s")
    assert proc.returncode == 0, (
        f"Node SDK discovery flow failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
        f"server log: {server.log_path}"
    )
    assert "OK: Node SDK discovery flow passed" in proc.stdout
