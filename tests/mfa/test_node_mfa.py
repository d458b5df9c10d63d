"""The official Stytch Node SDK (stytch@14.2.0) drives the MFA flow against a real server, on
SQLite and PostgreSQL; the assertions live in tests/node/mfa_flow.mjs (TOTP codes computed there
with node:crypto)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "mfa_flow.mjs"


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


def test_node_sdk_mfa_flow(server):
    env = {
        **os.environ,
        "TENANTRY_URL": server.base_url,
        "PROJECT_ID": server.project_id,
        "SECRET": server.secret,
        "FLOW_TIMEOUT_MS": "90000",
    }
    proc = subprocess.run([_node(), str(SCRIPT)], capture_output=True, text=True, timeout=150, env=env, cwd=NODE_DIR)
    print(proc.stdout)
    assert proc.returncode == 0, (
        f"Node SDK MFA flow failed:\n{proc.stdout}\n{proc.stderr}\nserver log: {server.log_path}"
    )
    assert "OK: Node SDK MFA flow passed" in proc.stdout
