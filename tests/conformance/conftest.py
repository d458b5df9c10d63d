"""Shared fixtures for the third-party conformance runs (Redocly respect, schemathesis).

The `server` fixture (parametrized over SQLite and PostgreSQL) comes from tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = REPO_ROOT / "tests" / "node"
SPEC_NAME = "stytch-b2b-openapi.yml"
REDIRECT_URL = "http://localhost:3000/authenticate"


def _missing(what: str) -> None:
    """A missing prerequisite fails the run in CI and skips it on a developer machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so this is an error, not a skip)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """`../shared/reference` next to the repo, or $TENANTRY_REFERENCE_DIR."""
    ref = Path(os.environ.get("TENANTRY_REFERENCE_DIR", REPO_ROOT.parent / "shared" / "reference"))
    if not (ref / SPEC_NAME).is_file() or not (ref / "arazzo").is_dir():
        _missing(f"Stytch reference files not found in {ref} (set TENANTRY_REFERENCE_DIR)")
    return ref


@pytest.fixture(scope="session")
def spec_path(reference_dir: Path) -> Path:
    return reference_dir / SPEC_NAME


@pytest.fixture(scope="session")
def npx() -> str:
    """`npx`, with tests/node installed (`npm ci --prefix tests/node`)."""
    exe = shutil.which("npx")
    if exe is None:
        _missing("npx (Node.js) is not on PATH")
    if not (NODE_DIR / "node_modules" / ".bin" / "redocly").exists():
        _missing(f"@redocly/cli is not installed: run `npm ci --prefix {NODE_DIR.relative_to(REPO_ROOT)}`")
    return exe


@pytest.fixture
def api(server) -> Iterator[httpx.Client]:
    """A plain HTTP client with the project's Basic credentials, for preparing state."""
    with httpx.Client(base_url=server.base_url, auth=(server.project_id, server.secret), timeout=10) as client:
        yield client


class Prep:
    """Prepares server state over plain HTTP (not through the tool under test)."""

    def __init__(self, api: httpx.Client, server) -> None:
        self.api = api
        self.server = server

    def post_ok(self, path: str, body: dict) -> dict:
        resp = self.api.post(path, json=body)
        assert resp.status_code == 200, f"POST {path} {body} -> {resp.status_code} {resp.text}"
        return resp.json()

    def discovery_token(self, email: str, count: int) -> str:
        """Sends a discovery magic link; returns the token from the `count`-th mail to `email`."""
        self.post_ok(
            "/v1/b2b/magic_links/email/discovery/send",
            {"email_address": email, "discovery_redirect_url": REDIRECT_URL},
        )
        return self.server.latest_link_token(email, count=count)

    def create_org(self, email: str, name: str, slug: str) -> dict:
        """Steps 1-3 of the tutorial: `email` becomes the admin of a new organization."""
        token = self.discovery_token(email, count=1)
        ist = self.post_ok("/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})[
            "intermediate_session_token"
        ]
        return self.post_ok(
            "/v1/b2b/discovery/organizations/create",
            {"intermediate_session_token": ist, "organization_name": name, "organization_slug": slug},
        )


@pytest.fixture
def prep(api: httpx.Client, server) -> Prep:
    return Prep(api, server)
