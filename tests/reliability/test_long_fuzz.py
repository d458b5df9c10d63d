"""A long schemathesis run over every operation Tenantry implements (SQLite and PostgreSQL):
thousands of generated requests (examples, coverage, fuzzing and stateful phases), no 5xx, no
response outside its schema, no schema-violating request accepted.

tests/conformance/test_schemathesis.py is the short, fixed-seed version of this run; the
operation list, the excluded checks (and why) and the generated-data dictionaries come from it,
so the two never drift apart. This one takes a new seed on every run, prints it and puts it in
the failure message and the JUnit properties. Replay a failure with

    TENANTRY_RELIABILITY_SEED=<seed> pytest tests/reliability/test_long_fuzz.py

and size the run with TENANTRY_RELIABILITY_EXAMPLES (examples per operation and phase).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conformance.test_schemathesis import (
    EXCLUDED_CHECKS,
    OPERATION_IDS,
    schemathesis_cmd,
    schemathesis_env,
    write_config,
)

from reliability.flows import clinic

SEED_ENV = "TENANTRY_RELIABILITY_SEED"
EXAMPLES_ENV = "TENANTRY_RELIABILITY_EXAMPLES"
EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "25"))
# With the default count the run must really be long; a smaller count is someone's choice.
MIN_CASES = 1000 if EXAMPLES >= 25 else 0
RUN_TIMEOUT = 600 + EXAMPLES * 20
SPEC_NAME = "stytch-b2b-openapi.yml"


def seed() -> int:
    given = os.environ.get(SEED_ENV)
    return int(given) if given else secrets.randbelow(2**31)


def spec_path() -> Path:
    reference = Path(
        os.environ.get("TENANTRY_REFERENCE_DIR", Path(__file__).resolve().parents[3] / "shared" / "reference")
    )
    spec = reference / SPEC_NAME
    if not spec.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{spec} not found (set TENANTRY_REFERENCE_DIR)")
        pytest.skip(f"{spec} not found (set TENANTRY_REFERENCE_DIR)")
    return spec


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_long_seeded_schemathesis_run(
    server_factory: Callable[..., Any], tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    run_seed = seed()
    record_property("schemathesis_seed", run_seed)
    replay = f"{SEED_ENV}={run_seed} {EXAMPLES_ENV}={EXAMPLES}"
    print(f"schemathesis seed {run_seed}, {EXAMPLES} examples per operation (replay: {replay})")

    # Rate limits would answer part of the run with 429s and hide the handlers behind them.
    server = server_factory(env={"TENANTRY_RATE_LIMITS_ENABLED": "false"})
    created = clinic(server, f"admin-{run_seed}@fuzz.example.com", f"fuzz-{run_seed}")
    write_config(
        tmp_path / "schemathesis.toml",
        project_id=server.project_id,
        org_id=created["organization"]["organization_id"],
        member_id=created["member"]["member_id"],
        session_token=created["session_token"],
        session_jwt=created["session_jwt"],
    )
    cmd = [
        *schemathesis_cmd(),
        "run",
        str(spec_path()),
        "--url",
        server.base_url,
        "--auth",
        f"{server.project_id}:{server.secret}",
        *[arg for op in OPERATION_IDS for arg in ("--include-operation-id", op)],
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(run_seed),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        "--output-sanitize",
        "false",
    ]
    started = time.monotonic()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp_path, env=schemathesis_env()
    )
    output = f"{proc.stdout}\n{proc.stderr}"
    generated = re.search(r"(\d+) generated", output)
    cases = int(generated.group(1)) if generated else 0
    print(f"schemathesis: exit {proc.returncode}, {cases} cases in {time.monotonic() - started:.0f}s")
    assert proc.returncode == 0, (
        f"schemathesis found problems with seed {run_seed}; replay with {replay}\n{_failures(output)}\n"
        f"server log: {server.log_path}"
    )
    assert f"Tested: {len(OPERATION_IDS)}\n" in output, output
    assert cases >= MIN_CASES, f"only {cases} cases generated (seed {run_seed}):\n{output}"
    log = server.log_path.read_text(errors="replace")
    assert "unhandled error" not in log, log[-4000:]


def _failures(output: str) -> str:
    """The failures and the summary of schemathesis' report, without its long warning lists."""
    start = output.find("= FAILURES =")
    summary = output.find("= SUMMARY =")
    if start < 0:
        return output
    warnings = output.find("= WARNINGS =", start)
    return output[start : warnings if warnings > 0 else summary] + output[summary:]
