"""The official Stytch Node SDK drives sessions (get, revoke, exchange) and organization custom
roles against a real server; assertions live in tests/node/sessions_flow.mjs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "sessions_flow.mjs"


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
    assert node is not None
    return node


def test_node_sdk_sessions_flow(server):
    env = {**os.environ, "TENANTRY_URL": server.base_url, "PROJECT_ID": server.project_id, "SECRET": server.secret}
    proc = subprocess.run([_node(), str(SCRIPT)], capture_output=True, text=True, timeout=120, env=env, cwd=NODE_DIR)
    print(proc.stdout)
    assert proc.returncode == 0, f"Node SDK sessions flow failed:\n{proc.stdout}\n{proc.stderr}"
    assert "OK: Node SDK sessions flow passed" in proc.stdout
