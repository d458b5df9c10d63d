"""What the benchmarks share: servers started the way a user starts them, a throwaway PostgreSQL,
a reader of the mail the servers deliver, process CPU/RSS readings and percentiles.

Nothing here imports Tenantry's modules: the benchmarks talk to servers over HTTP and to the
``tenantry`` command line only, like a user.
"""

from __future__ import annotations

import email
import email.policy
import gc
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str) -> str:
    out = subprocess.run([PYTHON, "-m", "tenantry", *args], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"tenantry {args[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout


def create_project(database_url: str, name: str) -> tuple[str, str]:
    """``tenantry migrate`` + ``tenantry projects create --json``: (project_id, secret)."""
    run_cli("migrate", "--database-url", database_url)
    project = json.loads(
        run_cli(
            "projects",
            "create",
            "--name",
            name,
            "--json",
            "--redirect-url",
            "http://127.0.0.1/authenticate",
            "--database-url",
            database_url,
        )
    )
    return project["project_id"], project["secret"]


def percentile(xs: Sequence[float], p: float) -> float:
    if not xs:
        return float("nan")
    ordered = sorted(xs)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()
    return f"{os.cpu_count()} cpu ({model}){mem}, load {load[0]:.2f} at start, python {sys.version.split()[0]}"


# -- /proc readings --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# -- servers -------------------------------------------------------------------------------------


class Process:
    """A server subprocess with its log in a temp dir; ready once ``ready_url`` answers 200."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: str, tmp: str, ready_url: str) -> None:
        self.tmp = tmp
        self.log_path = os.path.join(tmp, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log_path).read_text()[-3000:]}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {Path(self.log_path).read_text()[-3000:]}")

    @property
    def pids(self) -> list[int]:
        """The serving processes: uvicorn's workers (children) when there are any, else the parent."""
        return children(self.proc.pid) or [self.proc.pid]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid) + sum(cpu_seconds(c) for c in children(self.proc.pid))

    def rss_mb(self) -> list[float]:
        """Current resident memory of each serving process, MiB."""
        return [status_kb(p, "VmRSS") / 1024 for p in self.pids]

    def peak_rss_mb(self) -> list[float]:
        """Peak resident memory (VmHWM) of each serving process, MiB."""
        return [status_kb(p, "VmHWM") / 1024 for p in self.pids]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class TenantryServer(Process):
    """``python -m tenantry serve`` as a user starts it, rate limits off, mail to a dev maildir."""

    def __init__(self, database_url: str, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        tmp = tempfile.mkdtemp(prefix="tenantry-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.mailbox = Path(tmp) / "mailbox"
        full_env = {
            **os.environ,
            "TENANTRY_DEV_MAILBOX_DIR": str(self.mailbox),
            "TENANTRY_PUBLIC_URL": self.base,
            # Benchmarks send many links to few addresses from one client address.
            "TENANTRY_RATE_LIMITS_ENABLED": "false",
            **(env or {}),
        }
        args = [PYTHON, "-m", "tenantry", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--workers", str(workers), "--database-url", database_url]
        super().__init__(args, env=full_env, cwd=tmp, tmp=tmp, ready_url=self.base + "/healthz")
        # With --workers N uvicorn's supervisor answers before every worker is up.
        deadline = time.monotonic() + 60
        while workers > 1 and len(children(self.proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- PostgreSQL ----------------------------------------------------------------------------------


def find_pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


class PostgresCluster:
    """A throwaway cluster (Debian's initdb/pg_ctl in a temp dir), as tests/conftest.py starts one,
    but durable like a server: fsync on. ``synchronous_commit=off`` gives the durability class of
    SQLite's WAL + synchronous=NORMAL that the SQLite side runs with (a crash of the OS, not of
    the process, may lose the last commits; nothing is corrupted)."""

    SETTINGS = {"synchronous_commit": "off", "max_connections": "200", "shared_buffers": "256MB"}

    def __init__(self) -> None:
        initdb, pg_ctl = find_pg_binary("initdb"), find_pg_binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("initdb/pg_ctl not found (apt-get install postgresql)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="tenantry-bench-pg-"))
        self.datadir, self.sockdir = self.tmp / "data", self.tmp / "sock"
        self.logfile = self.tmp / "postgres.log"
        self.sockdir.mkdir()
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb refuses root
            for name in ("postgres", "nobody"):
                try:
                    entry = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                for path in (self.tmp, self.sockdir):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
                break
        self._run([self.initdb, "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        options = f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
        options += " ".join(f"-c {k}={v}" for k, v in self.SETTINGS.items())
        self._run([self.pg_ctl, "-D", str(self.datadir), "-l", str(self.logfile), "-w", "-o", options, "start"])
        self.databases = 0

    def _run(self, args: list[str]) -> None:
        proc = subprocess.run(args, user=self.user, capture_output=True, text=True, timeout=120, cwd=self.tmp)
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {proc.stdout}{proc.stderr}{log[-2000:]}")

    def new_database(self, prefix: str = "bench") -> str:
        import psycopg

        self.databases += 1
        name = f"{prefix}_{self.databases}"
        with psycopg.connect(self._url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self._url(name)

    def _url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def describe(self) -> str:
        return "PostgreSQL (throwaway, fsync=on, " + ", ".join(f"{k}={v}" for k, v in self.SETTINGS.items()) + ")"

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
        except Exception as exc:  # leave no cluster behind, but do not hide the figures
            print(f"warning: could not stop PostgreSQL: {exc}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- mail ----------------------------------------------------------------------------------------

LINK_RE = re.compile(r"https?://[^\s<>\"']+")


def token_from_link(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def mail_recipient_and_token(data: bytes) -> tuple[str, str] | None:
    """(To address, token of the first link) of one delivered RFC 5322 mail, or None."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    to = email.utils.parseaddr(str(message.get("To", "")))[1].lower()
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace")
            for link in LINK_RE.findall(text):
                if "token=" in link:
                    return to, token_from_link(link)
    return None


class MailWatcher:
    """Reads the mail a server delivered to a directory (a Maildir's ``new/`` for Tenantry, one
    JSON file per mail for the better-auth peer) as it arrives: what a person's inbox would show.

    Reading the files costs the driver, not the server; polling the dev mailbox's HTTP listing
    would parse every message in the server on every poll. A read mail moves to ``done`` (as a
    Maildir reader moves new/ to cur/), so each scan lists only the mail not yet read.
    """

    def __init__(self, directory: Path, parse: Any, *, done: Path) -> None:
        self.directory = directory
        self.done = done
        done.mkdir(parents=True, exist_ok=True)
        self.parse = parse  # bytes -> (recipient, payload) | None
        self.inbox: dict[str, list[Any]] = {}

    def scan(self) -> None:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue  # the peer's file still being written
            try:
                data = Path(entry.path).read_bytes()
                os.replace(entry.path, self.done / entry.name)
            except OSError:
                continue
            found = self.parse(data)
            if found is not None:
                self.inbox.setdefault(found[0], []).append(found[1])

    def take(self, recipient: str) -> Any | None:
        waiting = self.inbox.get(recipient.lower())
        return waiting.pop(0) if waiting else None


def pretty_ms(x: float) -> str:
    return "—" if x != x else f"{x:.1f}"


def freeze_driver_heap() -> None:
    """Leave what the driver has loaded out of its own cycle collections. The latencies are
    timed in this process, and a full collection of its heap (13-22 ms, seen during paced runs)
    would show up as a slow request to every journey in flight. The servers do the same
    (``tenantry.gc_pauses``)."""
    gc.collect()
    gc.freeze()
