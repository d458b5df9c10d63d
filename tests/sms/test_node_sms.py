"""The official Stytch Node SDK (npm ``stytch`` 14.2.0) completes MFA by SMS against a live
Tenantry server, on SQLite and PostgreSQL. The assertions live in tests/node/sms_mfa_flow.mjs,
which exits non-zero with the failing step."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "sms_mfa_flow.mjs"


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


def test_node_sdk_completes_mfa_by_sms(server):
    env = {
        **os.environ,
        "TENANTRY_URL": server.base_url,
        "PROJECT_ID": server.project_id,
        "SECRET": server.secret,
        "FLOW_TIMEOUT_MS": "60000",
    }
    proc = subprocess.run([_node(), str(SCRIPT)], capture_output=True, text=True, timeout=90, env=env, cwd=NODE_DIR)
    print(proc.stdout)
    assert proc.returncode == 0, (
        f"Node SDK SMS flow failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
        f"server log: {server.log_path}"
    )
    assert "OK: Node SDK SMS MFA flow passed" in proc.stdout
