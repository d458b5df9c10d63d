"""A throwaway Redis server for the rate-limit tests, and the lanes they run in.

``redis-server`` (Debian's package) is started on a free port for the session, without
persistence; or ``TENANTRY_TEST_REDIS_URL`` names one to use. When it cannot be started the Redis
lane is skipped locally but fails with ``CI=true`` or ``TENANTRY_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from ports import free_port


def _redis_required() -> bool:
    return os.environ.get("TENANTRY_REQUIRE_REDIS") == "1" or os.environ.get("CI", "").lower() == "true"


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="tenantry-redis-"))
        self.log = self.tmp / "redis.log"
        # Running as root is fine for redis-server; nothing is written but its log.
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.tmp), "--logfile", str(self.log), "--daemonize", "no"]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log_text()}")
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server not ready after {timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("TENANTRY_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    server = None
    try:
        if binary is None:
            raise RuntimeError("redis-server not found (install Debian's redis-server package)")
        server = RedisServer(binary)
        server.wait_until_ready()
    except Exception as exc:
        if server is not None:
            server.stop()
        message = f"Redis could not be started: {exc}"
        if _redis_required():
            pytest.fail(message + " (TENANTRY_REQUIRE_REDIS=1 or CI=true: not skipping)", pytrace=False)
        pytest.skip(message)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def counters(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Where the servers keep their counters (the ``lanes`` parameter): the environment to
    start them with. ``{}`` is the database; Redis is flushed after each test."""
    if request.param == "database":
        yield {}
        return
    url = request.getfixturevalue("redis_url")
    yield {"TENANTRY_REDIS_URL": url}
    redis.Redis.from_url(url).flushdb()
