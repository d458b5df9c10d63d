"""Redocly `respect` runs the reference Arazzo workflows against a live Tenantry server.

respect validates every response strictly against the Stytch OpenAPI description (Ajv with
unevaluatedProperties=false and format checks): an extra property, a `null` for an optional
object, an undeclared status code or a failed success criterion makes it exit non-zero. No
`--severity` downgrade is used, so a pass means the responses are spec-exact.

The reference files carry no auth, and respect has no auth flag, so each test writes an overlay
copy with a workflow-level `x-security` (Basic `$inputs.project_id` / `$inputs.secret`) into a
temporary directory laid out like the original (`arazzo/` next to `openapi/`) so the relative
`sourceDescriptions` URL still resolves.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import yaml

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
REDIRECT_URL = "http://localhost:3000/authenticate"
RESPECT_TIMEOUT = 120


def write_auth_overlay(reference_dir: Path, workflow_file: str, spec_path: Path, tmp_path: Path) -> Path:
    """Copies an Arazzo file with Basic auth added; returns the copy's path."""
    source = reference_dir / "arazzo" / workflow_file
    doc = yaml.safe_load(source.read_text())
    out_dir = tmp_path / "arazzo"
    out_dir.mkdir()
    for description in doc["sourceDescriptions"]:
        # Put the spec where the relative URL points from the copy (e.g. ../openapi/<spec>).
        target = (out_dir / description["url"]).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(spec_path)
    for workflow in doc["workflows"]:
        inputs = workflow.setdefault("inputs", {"type": "object", "properties": {}})
        inputs.setdefault("properties", {})
        inputs["properties"]["project_id"] = {"type": "string", "description": "Basic auth username"}
        inputs["properties"]["secret"] = {"type": "string", "description": "Basic auth password"}
        inputs["required"] = [*inputs.get("required", []), "project_id", "secret"]
        workflow["x-security"] = [
            {
                "scheme": {"type": "http", "scheme": "basic"},
                "values": {"username": "$inputs.project_id", "password": "$inputs.secret"},
            }
        ]
    overlay = out_dir / source.name.replace(".yml", ".auth.yml")
    overlay.write_text(yaml.safe_dump(copy.deepcopy(doc), sort_keys=False))
    return overlay


def failed_checks(report: dict) -> list[str]:
    """One line per failed check in respect's JSON report: step, response status, check, message."""
    lines = []
    for file_report in report.get("files", {}).values():
        for workflow in file_report.get("executedWorkflows", []):
            for step in workflow.get("executedSteps", []):
                for check in step.get("checks", []):
                    if not check.get("passed"):
                        lines.append(
                            f"{workflow.get('workflowId')}/{step.get('stepId')}: "
                            f"HTTP {step.get('response', {}).get('statusCode')} "
                            f"{check.get('name')}: {check.get('message')}"
                        )
    return lines


def run_respect(npx: str, overlay: Path, workflow_id: str, base_url: str, inputs: dict) -> dict:
    """Runs one workflow; asserts that every step ran and every check passed; returns the report."""
    report_path = overlay.parent / f"{workflow_id}.report.json"
    cmd = [
        npx,
        "--no-install",
        "--prefix",
        str(NODE_DIR),
        "redocly",
        "respect",
        str(overlay),
        "--workflow",
        workflow_id,
        # R1: the override must name the sourceDescription, a bare URL is silently ignored.
        "--server",
        f"stytchB2bApi={base_url}",
        # R2: the JSON form; `k=v,...` mangles values containing '=' or ','.
        "--input",
        json.dumps(inputs),
        "--json-output",
        str(report_path),
        "--verbose",
    ]
    env = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RESPECT_TIMEOUT, env=env, cwd=overlay.parent)
    elapsed = time.monotonic() - started
    print(f"respect {workflow_id}: exit {proc.returncode} in {elapsed:.1f}s")
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    failures = "\n".join(failed_checks(report)) or "(no JSON report)"
    assert proc.returncode == 0, (
        f"redocly respect failed for {workflow_id} (exit {proc.returncode}) against {base_url}.\n"
        f"Failed checks:\n{failures}\n\nrespect output:\n{proc.stdout}\n{proc.stderr}"
    )
    # Guard against a run that passed vacuously (e.g. a workflow id that matched nothing).
    doc = yaml.safe_load(overlay.read_text())
    (workflow,) = [w for w in doc["workflows"] if w["workflowId"] == workflow_id]
    executed = [
        step["stepId"]
        for file_report in report["files"].values()
        for run in file_report["executedWorkflows"]
        for step in run["executedSteps"]
    ]
    assert executed == [step["stepId"] for step in workflow["steps"]], executed
    return report


def test_email_magic_link_discovery_workflow(server, prep, npx, reference_dir, spec_path, tmp_path):
    """Seed 004: send, authenticate and create an organization, every response spec-exact.

    The workflow takes the clicked token as an input although its own first step sends the mail,
    so a link is sent beforehand and its token read from the dev mailbox; the workflow's own send
    does not retire it.
    """
    overlay = write_auth_overlay(
        reference_dir, "stytch-b2b-email-magic-link-discovery-workflow.yml", spec_path, tmp_path
    )
    email = f"founder-{secrets.token_hex(4)}@clinic.example.com"
    token = prep.discovery_token(email, count=1)
    run_respect(
        npx,
        overlay,
        "email-magic-link-discovery",
        server.base_url,
        {
            "email_address": email,
            "discovery_redirect_url": REDIRECT_URL,
            "discovery_magic_links_token": token,
            "organization_name": "Northside Clinic",
            "project_id": server.project_id,
            "secret": server.secret,
        },
    )
    # The workflow's own send delivered a second, still usable link.
    assert len(server.wait_for_mail(email, count=2)) == 2


def test_discovery_intermediate_exchange_workflow(server, prep, npx, reference_dir, spec_path, tmp_path):
    """A returning member authenticates a discovery link and exchanges into their organization.

    The workflow needs an organization the email already belongs to: it is created first through
    the API (tutorial steps 1-3); a second discovery link then feeds the workflow.
    """
    overlay = write_auth_overlay(
        reference_dir, "stytch-b2b-discovery-intermediate-exchange-workflow.yml", spec_path, tmp_path
    )
    suffix = secrets.token_hex(4)
    email = f"admin-{suffix}@clinic.example.com"
    created = prep.create_org(email, "Eastside Clinic", f"eastside-clinic-{suffix}")
    org_id = created["organization"]["organization_id"]
    token = prep.discovery_token(email, count=2)
    run_respect(
        npx,
        overlay,
        "discovery-intermediate-exchange",
        server.base_url,
        {
            "discovery_magic_links_token": token,
            "organization_id": org_id,
            "session_duration_minutes": 60,
            "project_id": server.project_id,
            "secret": server.secret,
        },
    )


def test_respect_fails_on_wrong_secret(server, npx, reference_dir, spec_path, tmp_path):
    """The harness can fail: the overlay's credentials are used, and a 401 makes respect exit 1."""
    overlay = write_auth_overlay(
        reference_dir, "stytch-b2b-discovery-intermediate-exchange-workflow.yml", spec_path, tmp_path
    )
    with pytest.raises(AssertionError, match=r"(?s)redocly respect failed.*authenticateDiscovery: HTTP 401"):
        run_respect(
            npx,
            overlay,
            "discovery-intermediate-exchange",
            server.base_url,
            {
                "discovery_magic_links_token": "not-a-token",
                "organization_id": "organization-test-00000000-0000-0000-0000-000000000000",
                "project_id": server.project_id,
                "secret": server.secret + "-wrong",
            },
        )


def test_create_org_invite_member_workflow(server, npx, reference_dir, spec_path, tmp_path):
    """Issue #3's workflow: create an organization with project credentials, then invite a member.

    Both responses must be spec-exact, and the invitation must really reach the mailbox with a
    link that authenticates into the new organization.
    """
    overlay = write_auth_overlay(reference_dir, "stytch-b2b-create-org-invite-member-workflow.yml", spec_path, tmp_path)
    suffix = secrets.token_hex(4)
    email = f"nurse-{suffix}@clinic.example.com"
    run_respect(
        npx,
        overlay,
        "create-org-invite-member",
        server.base_url,
        {
            "organization_name": "Westside Clinic",
            "organization_slug": f"westside-{suffix}",
            "email_address": email,
            "invite_redirect_url": REDIRECT_URL,
            "project_id": server.project_id,
            "secret": server.secret,
        },
    )
    (invitation,) = server.wait_for_mail(email)
    assert "stytch_token_type=multi_tenant_magic_links" in invitation["links"][0]
