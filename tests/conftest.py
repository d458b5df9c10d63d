"""Shared fixtures: a throwaway PostgreSQL, a fresh database per test, and real server processes.

Every test that takes ``database_url`` (directly or through ``server``) runs twice: on SQLite and
on PostgreSQL. PostgreSQL comes from ``TENANTRY_TEST_POSTGRES_URL`` (an admin URL: the fixture
creates and drops one database per test in it) or from a cluster started here with ``initdb`` and
``pg_ctl`` in a temporary directory. When PostgreSQL cannot be started, the PostgreSQL lane is
skipped locally but fails when ``TENANTRY_REQUIRE_POSTGRES=1`` or ``CI=true``.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ports import free_port

REDIRECT_URL = "http://localhost:3000/authenticate"
STARTUP_TIMEOUT = 60.0

_PROJECT_ID_RE = re.compile(r"project_id:\s*(project-(?:test|live)-[A-Za-z0-9-]+)")
_SECRET_RE = re.compile(r"secret:\s*(secret-(?:test|live)-[A-Za-z0-9_=-]+)")


def pytest_configure(config: pytest.Config) -> None:
    # The stytch SDK builds an aiohttp BasicAuth at construction, which aiohttp deprecates.
    # That is the SDK's business, not ours; keep it from failing runs made with -W error.
    config.addinivalue_line("filterwarnings", "ignore:BasicAuth is deprecated:DeprecationWarning")


def postgres_required() -> bool:
    return os.environ.get("TENANTRY_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "").lower() == "true"


# --------------------------------------------------------------------------------------------
# PostgreSQL


def find_pg_binary(name: str) -> str | None:
    """``name`` from PATH, else from Debian's versioned directory (newest version first)."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> int:
        try:
            return int(Path(path).parent.parent.name)
        except ValueError:
            return 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    return candidates[0] if candidates else None


class PostgresCluster:
    """A throwaway cluster: initdb + pg_ctl in a temporary directory, trust auth, no fsync."""

    def __init__(self) -> None:
        self.initdb = find_pg_binary("initdb")
        self.pg_ctl = find_pg_binary("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError("initdb/pg_ctl not found (install Debian's postgresql package)")
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="tenantry-pg-"))
        self.datadir = self.tmp / "data"
        self.sockdir = self.tmp / "sock"
        self.logfile = self.tmp / "postgres.log"
        self.sockdir.mkdir()
        # initdb refuses to run as root: drop to an unprivileged user for the cluster's processes.
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = _unprivileged_user()
            entry = pwd.getpwnam(self.user)
            for path in (self.tmp, self.sockdir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.started = False

    def _run(self, args: list[str], timeout: float) -> None:
        proc = subprocess.run(args, user=self.user, capture_output=True, text=True, timeout=timeout, cwd=self.tmp)
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> None:
        self._run(
            [
                self.initdb,
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            timeout=120,
        )
        self.start_server()
        self.started = True

    def start_server(self) -> None:
        """Start the server of the initialised cluster (again, after ``stop_server``)."""
        options = (
            f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            [
                self.pg_ctl,
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            timeout=90,
        )

    def stop_server(self, mode: str = "immediate") -> None:
        """Stop the server but keep the cluster, for outage tests; ``immediate`` is a crash."""
        self._run([self.pg_ctl, "-D", str(self.datadir), "-m", mode, "-w", "stop"], timeout=60)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.started:
            try:
                self._run([self.pg_ctl, "-D", str(self.datadir), "-m", "immediate", "-w", "stop"], timeout=60)
            except Exception as exc:
                print(f"warning: could not stop PostgreSQL: {exc}", file=sys.stderr)
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    return urllib.parse.urlunsplit((scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL (``postgresql://…/postgres``) of a running PostgreSQL, for this session."""
    given = os.environ.get("TENANTRY_TEST_POSTGRES_URL")
    if given:
        yield _with_database(given, urllib.parse.urlsplit(given).path.lstrip("/") or "postgres")
        return
    cluster = None
    try:
        cluster = PostgresCluster()
        cluster.start()
    except Exception as exc:
        if cluster is not None:
            cluster.stop()
        message = f"PostgreSQL could not be started: {exc}"
        if postgres_required():
            pytest.fail(message + " (TENANTRY_REQUIRE_POSTGRES=1 or CI=true: not skipping)", pytrace=False)
        pytest.skip(message)
    try:
        yield cluster.admin_url
    finally:
        cluster.stop()


def _pg_execute(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tenantry.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    dbname = f"t_{uuid.uuid4().hex}"
    _pg_execute(admin_url, f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_database(admin_url, dbname)
    finally:
        _pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    """An engine on a fresh database migrated to the newest schema, for tests of storage code
    without a server."""
    from tenantry.db.engine import create_engine
    from tenantry.db.migrate import upgrade

    engine = create_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# --------------------------------------------------------------------------------------------
# Server processes


class TenantryServer:
    """A ``tenantry serve`` subprocess on a free port, with its own dev mailbox directory."""

    def __init__(
        self,
        *,
        database_url: str,
        workdir: Path,
        project_id: str | None = None,
        secret: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        workers: int = 1,
    ) -> None:
        self.host = "127.0.0.1"
        # ``tenantry serve --workers N``: a uvicorn master process with N worker processes.
        self.workers = workers
        self.port = port or free_port()
        self.base_url = f"http://{self.host}:{self.port}"
        self.database_url = database_url
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "server.log"
        self.mailbox_dir = workdir / "mailbox"
        self.project_id = project_id or ""
        self.secret = secret or ""
        self._extra_env = env or {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "TENANTRY_DATABASE_URL": self.database_url,
                "TENANTRY_DEV_MAILBOX_DIR": str(self.mailbox_dir),
                "TENANTRY_OUTBOX_POLL_SECONDS": "0.2",
                "TENANTRY_PUBLIC_URL": self.base_url,
            }
        )
        env.update(self._extra_env)
        return env

    def start(self) -> TenantryServer:
        self._log_file = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tenantry",
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
                "--workers",
                str(self.workers),
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env(),
            cwd=self.workdir,
            start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        healthy = False
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"tenantry serve exited with {self._proc.returncode}:\n{self.log_tail()}")
            self._parse_credentials()
            if not healthy:
                try:
                    healthy = httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    healthy = False
            # Something else may answer on the port (another test session's server): only our own
            # log line proves that this process bound it. With workers, every one must be up.
            if healthy and self.project_id and self.secret and self._listening() and self._workers_up():
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"tenantry serve not ready after {STARTUP_TIMEOUT}s (healthy={healthy}, "
            f"credentials={'yes' if self.secret else 'no'}):\n{self.log_tail()}"
        )

    def _listening(self) -> bool:
        return f"Uvicorn running on {self.base_url} " in self.log_path.read_text(errors="replace")

    def _workers_up(self) -> bool:
        if self.workers == 1:
            return True
        text = self.log_path.read_text(errors="replace")
        return text.count("Application startup complete") >= self.workers

    def _parse_credentials(self) -> None:
        if self.project_id and self.secret:
            return
        text = self.log_path.read_text(errors="replace")
        pid, secret = _PROJECT_ID_RE.search(text), _SECRET_RE.search(text)
        if pid and secret:
            self.project_id, self.secret = pid.group(1), secret.group(1)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        """SIGKILL the server's process group: a crash, no shutdown code runs."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    # -- API helpers ----------------------------------------------------------------------

    @property
    def auth(self) -> tuple[str, str]:
        return (self.project_id, self.secret)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server, authenticated as the server's first project."""
        kwargs.setdefault("auth", self.auth)
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.base_url, **kwargs)

    def mailbox(self, to: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.base_url}/dev/mailbox/api/messages", params={"to": to}, timeout=10)
        resp.raise_for_status()
        messages = resp.json()
        assert isinstance(messages, list), f"mailbox API returned {messages!r}"
        return messages

    def wait_for_mail(self, to: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        """Messages to ``to`` (newest first) once at least ``count`` have arrived."""
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            messages = self.mailbox(to)
            if len(messages) >= count:
                return messages
            time.sleep(0.1)
        raise AssertionError(
            f"expected {count} message(s) to {to} within {timeout}s, got {len(messages)}\n{self.log_tail()}"
        )

    def latest_link_token(self, to: str, count: int = 1) -> str:
        """The ``token`` query parameter of the first link in the newest message to ``to``."""
        newest = self.wait_for_mail(to, count=count)[0]
        assert newest["links"], f"message without links: {newest!r}"
        return link_token(newest["links"][0])

    def create_project(self, name: str, redirect_urls: list[str] | None = None) -> tuple[str, str]:
        """Create a project with the CLI against this server's database; returns (id, secret).

        ``redirect_urls`` defaults to ``[REDIRECT_URL]`` so a new project works like the first.
        """
        args = [sys.executable, "-m", "tenantry", "projects", "create", "--name", name, "--json"]
        args += ["--database-url", self.database_url]
        for url in redirect_urls if redirect_urls is not None else [REDIRECT_URL]:
            args += ["--redirect-url", url]
        proc = subprocess.run(args, capture_output=True, text=True, env=self.env(), cwd=self.workdir, timeout=60)
        assert proc.returncode == 0, f"projects create failed:\n{proc.stdout}\n{proc.stderr}"
        for line in reversed(proc.stdout.strip().splitlines()):
            if line.lstrip().startswith("{"):
                data = json.loads(line)
                return data["project_id"], data["secret"]
        data = json.loads(proc.stdout)
        return data["project_id"], data["secret"]


def link_token(link: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert "token" in query, f"link without a token: {link}"
    return query["token"][0]


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster that only this module uses, so its tests may stop and start
    it (``stop_server``/``start_server``) without disturbing the shared one."""
    cluster = PostgresCluster()
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        message = f"PostgreSQL could not be started: {exc}"
        if postgres_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def private_postgres_server(private_postgres: PostgresCluster, tmp_path: Path) -> Iterator[TenantryServer]:
    """A started ``tenantry serve`` on a fresh database of ``private_postgres``, whose tests stop
    and start that cluster under it."""
    dbname = f"t_{uuid.uuid4().hex}"
    _pg_execute(private_postgres.admin_url, f'CREATE DATABASE "{dbname}"')
    server = TenantryServer(
        database_url=_with_database(private_postgres.admin_url, dbname), workdir=tmp_path / "server"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Every directory's conftest.py is a module named ``conftest``, so ``from conftest import X`` in a
# test module picks whichever was loaded last in a full run. Tests reach this one's helpers through
# the ``root_conftest`` fixture instead.
_THIS_MODULE = sys.modules[__name__]


@pytest.fixture(scope="session")
def root_conftest() -> Any:
    """tests/conftest.py itself, for its helpers (``PostgresCluster``, ``TenantryServer``, ...)."""
    return _THIS_MODULE


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., TenantryServer]]:
    """Start ``tenantry serve`` processes against this test's database.

    ``server_factory(env=None, database_url=None, project_id=None, secret=None, workers=1)``. A server that
    finds the database already set up prints no credentials; it then takes the given ones, or
    those of the first server this factory started.
    """
    started: list[TenantryServer] = []

    def start(
        *,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
        project_id: str | None = None,
        secret: str | None = None,
        workers: int = 1,
    ) -> TenantryServer:
        if project_id is None and started:
            project_id, secret = started[0].project_id, started[0].secret
        srv = TenantryServer(
            database_url=database_url or default_url,
            workdir=tmp_path / f"server{len(started)}",
            project_id=project_id,
            secret=secret,
            env=env,
            workers=workers,
        )
        started.append(srv)
        return srv.start()

    default_url = database_url
    try:
        yield start
    finally:
        for srv in reversed(started):
            srv.stop()


@pytest.fixture
def server(server_factory: Callable[..., TenantryServer]) -> TenantryServer:
    """A running server on a fresh database (SQLite and PostgreSQL), with its test project."""
    return server_factory()


def make_stytch_client(server: TenantryServer, project_id: str | None = None, secret: str | None = None) -> Any:
    import stytch

    return stytch.B2BClient(
        project_id=project_id or server.project_id,
        secret=secret or server.secret,
        environment=server.base_url,
    )


@pytest.fixture
def stytch_client(server: TenantryServer) -> Any:
    """The official Python SDK (``stytch.B2BClient``) pointed at ``server``."""
    return make_stytch_client(server)


@pytest.fixture
def stytch_client_factory() -> Callable[..., Any]:
    """``stytch_client_factory(server, project_id=None, secret=None)``: another SDK client."""
    return make_stytch_client
