"""The tutorial's step 5 with the official Node SDK (tests/node/invite_flow.mjs), on SQLite and
PostgreSQL: three invitations sent with the admin's session in options.authorization, each
accepted from the mailbox, each invitee active with the invited role."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def test_node_sdk_tutorial_step5_invites(server: Any) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "stytch").is_dir():
        if os.environ.get("CI"):
            pytest.fail("node or the Stytch Node SDK is missing (CI is set, so this is an error)")
        pytest.skip("node or the Stytch Node SDK is missing: run `npm ci --prefix tests/node`")
    env = {**os.environ, "TENANTRY_URL": server.base_url, "PROJECT_ID": server.project_id, "SECRET": server.secret}
    proc = subprocess.run(
        [node, str(NODE_DIR / "invite_flow.mjs")], capture_output=True, text=True, timeout=90, env=env, cwd=NODE_DIR
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nserver log:\n{server.log_tail()}"
    assert proc.stdout.strip().endswith("OK")
