"""How the portal is started: inside ``tenantry serve`` when its credentials file is gone from an
existing database, and on its own with ``tenantry portal`` against a running Tenantry (as it would
run against Stytch's cloud), both on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ports import free_port

from tenantry.portal.dev import env_file_path

from .conftest import VALID_CLINIC, PortalSite, forms

STARTUP_TIMEOUT = 60


def _env_path(server: Any) -> Path:
    path = env_file_path(server.database_url)
    return path if path.is_absolute() else Path(server.workdir) / path


def test_serve_gives_the_portal_its_own_project_when_its_credentials_file_is_missing(
    server_factory: Callable[..., Any],
) -> None:
    first = server_factory()
    first_path = _env_path(first)
    first_creds = PortalSite(first).credentials()
    # On an empty database the portal shares the project whose secret was just printed.
    assert first_creds["TENANTRY_PORTAL_STYTCH_PROJECT_ID"] == first.project_id
    first.stop()
    first_path.unlink(missing_ok=True)  # SQLite: beside the database; PostgreSQL: the workdir's .tenantry/

    second = server_factory()  # same database, a new working directory, no portal.env anywhere
    site = PortalSite(second)
    try:
        path = _env_path(second)
        assert path.exists(), second.log_tail()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        creds = site.credentials()
        portal_project = creds["TENANTRY_PORTAL_STYTCH_PROJECT_ID"]
        # Only the old secret's hash is stored, so a dedicated project was made for the portal.
        assert portal_project.startswith("project-test-") and portal_project != first.project_id
        assert f"Clinic portal: {second.base_url}/portal (its credentials: " in second.log_tail()
        listed = subprocess.run(
            [sys.executable, "-m", "tenantry", "projects", "list", "--database-url", second.database_url],
            capture_output=True,
            text=True,
            env=second.env(),
            cwd=second.workdir,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert first.project_id in listed.stdout and portal_project in listed.stdout, listed.stdout

        # The portal works with it: sign up, the link lands back in the portal, a clinic is created.
        user = site.user()
        home = user.create_clinic("founder@riverside.example")
        assert VALID_CLINIC["name"] in home.text
        sdk = site.sdk()  # the new project's own id and secret
        org = sdk.organizations.get(organization_id=VALID_CLINIC["slug"]).organization
        assert org.trusted_metadata["clinic"]["npi"] == VALID_CLINIC["npi"]
        # The clinic lives in the portal's project, not in the default one.
        with second.client() as default_project:
            missing = default_project.get(f"/v1/b2b/organizations/{org.organization_id}")
        assert missing.status_code == 404, missing.text

        # A restart keeps the file and the project (no new project on every start).
        second.stop()
        third = server_factory()
        if not path.is_relative_to(Path(second.workdir)):
            assert PortalSite(third).credentials() == creds
            third_user = PortalSite(third).user()
            choose = third_user.sign_in("founder@riverside.example")  # each server has its own mailbox
            assert VALID_CLINIC["name"] in choose.text
            third_user.close()
    finally:
        site.close()


class StandalonePortal:
    """``tenantry portal --port P`` as a subprocess with ``TENANTRY_PORTAL_*`` settings."""

    def __init__(self, env: dict[str, str], workdir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "portal.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tenantry", "portal", "--port", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tenantry portal exited with {self.proc.returncode}:\n{self.log()}")
            if f"Uvicorn running on {self.url}" in self.log():
                return
            time.sleep(0.1)
        raise AssertionError(f"tenantry portal not ready after {STARTUP_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def standalone(server_factory: Callable[..., Any], tmp_path: Path) -> Iterator[tuple[Any, Callable[..., Any]]]:
    server = server_factory()
    started: list[StandalonePortal] = []

    def start(extra: dict[str, str], port: int) -> StandalonePortal:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
        env.update({"PYTHONUNBUFFERED": "1", "TENANTRY_DATABASE_URL": server.database_url, **extra})
        portal = StandalonePortal(env, tmp_path / f"portal{len(started)}", port)
        started.append(portal)
        return portal

    try:
        yield server, start
    finally:
        for portal in started:
            portal.stop()


def test_tenantry_portal_serves_sign_in_against_a_running_tenantry(
    standalone: tuple[Any, Callable[..., StandalonePortal]],
) -> None:
    server, start = standalone
    port = free_port()
    # A real project of the running server, allowing the standalone portal's authenticate URL,
    # exactly as a Stytch project would in its dashboard.
    project_id, secret = server.create_project(
        "Standalone clinic portal", redirect_urls=[f"http://127.0.0.1:{port}/authenticate"]
    )
    portal = start(
        {
            "TENANTRY_PORTAL_STYTCH_ENVIRONMENT": server.base_url,
            "TENANTRY_PORTAL_STYTCH_PROJECT_ID": project_id,
            "TENANTRY_PORTAL_STYTCH_SECRET": secret,
            "TENANTRY_PORTAL_COOKIE_KEYS": "standalone-portal-cookie-key-" + "x" * 16,
        },
        port,
    )
    portal.wait_ready()
    assert f"Clinic portal: http://127.0.0.1:{port} (API: {server.base_url})" in portal.log()
    assert f"Allow this redirect URL in the project: http://127.0.0.1:{port}/authenticate" in portal.log()

    with httpx.Client(base_url=portal.url, follow_redirects=True, timeout=30) as browser:
        page = browser.get("/sign-in")
        assert page.status_code == 200 and "Sign in or set up your clinic" in page.text
        form = next(f for f in forms(page) if f.action == "/sign-in")
        sent = browser.post("/sign-in", data={**form.fields, "email": "contact@standalone.example"})
        assert sent.status_code == 200 and "Check your email" in sent.text, sent.text[:2000]

        mail = server.wait_for_mail("contact@standalone.example")
        assert len(mail) == 1
        link = str(mail[0]["links"][0])
        # The mail came from Tenantry on the portal's behalf and leads back to the standalone portal.
        landing = browser.get(link)
        assert landing.status_code == 200
        continue_form = forms(landing)[0]
        choose = browser.post(urllib.parse.urljoin(str(landing.url), continue_form.action), data=continue_form.fields)
        assert str(choose.url) == f"{portal.url}/clinics", choose.url
        assert "Choose your clinic" in choose.text and "contact@standalone.example" in choose.text
