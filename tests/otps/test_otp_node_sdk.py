"""The official Stytch Node SDK (npm ``stytch``, pinned in tests/node/package.json) drives the email
OTP flow against a live Tenantry server, on SQLite and PostgreSQL.

All assertions live in tests/node/otp_flow.mjs; it exits non-zero with the failing step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "otp_flow.mjs"


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


def test_node_sdk_email_otp_flow(server):
    env = {
        **os.environ,
        "TENANTRY_URL": server.base_url,
        "PROJECT_ID": server.project_id,
        "SECRET": server.secret,
        "FLOW_TIMEOUT_MS": "60000",
    }
    proc = subprocess.run([_node(), str(SCRIPT)], capture_output=True, text=True, timeout=90, env=env, cwd=NODE_DIR)
    assert proc.returncode == 0, (
        f"Node SDK email OTP flow failed:\n{proc.stdout}\n{proc.stderr}\nlog: {server.log_path}"
    )
    assert "OK: Node SDK email OTP flow passed" in proc.stdout
