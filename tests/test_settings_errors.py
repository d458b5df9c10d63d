"""A mistyped setting stops the CLI with one line naming the variable, never echoing its value
(pydantic's own message would print a too-short TENANTRY_MFA_KEY back in the clear)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_bad_secret_setting_is_named_but_not_printed(tmp_path):
    secret = "too-short-but-still-secret"
    env = {**os.environ, "TENANTRY_MFA_KEY": secret}
    result = subprocess.run(
        [sys.executable, "-m", "tenantry", "migrate", "--database-url", f"sqlite:///{tmp_path / 't.db'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TENANTRY_MFA_KEY" in result.stderr
    assert secret not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
