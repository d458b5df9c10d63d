"""The clinic onboarding journey, end to end, on Tenantry and on better-auth in the same run.

Tenantry (Stytch's B2B flow), per journey, 9 requests:
    discovery send -> (mail) -> discovery authenticate -> create organization from the IST
    -> invite three (as the new admin's session) -> each invitee authenticates its invite link.
better-auth (magicLink + organization plugins), per journey, 15 requests:
    magic-link send -> (mail) -> verify -> create organization -> invite three
    -> each invitee: magic-link send -> (mail) -> verify -> accept-invitation by id.

Servers start the way a user starts them (``tenantry serve --workers N``; ``node server.mjs``),
on a fresh database per run, rate limits off. A light keep-alive client (aiohttp) keeps
``--concurrency`` journeys in flight; mail is read from the directory the server delivers to.
Prints journeys/s and p50/p99 per endpoint per configuration (medians of ``--runs``), the CPU
the driver itself used, and the Tenantry/better-auth ratio for the same database and workers.

    .venv/bin/python bench/onboarding.py --runs 3                 # full comparison
    .venv/bin/python bench/onboarding.py --seconds 5 --runs 1     # smoke run

See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from harness import (
    HERE,
    MailWatcher,
    PostgresCluster,
    Process,
    TenantryServer,
    create_project,
    free_port,
    freeze_driver_heap,
    machine,
    mail_recipient_and_token,
    median,
    percentile,
)

BA_DIR = HERE / "better_auth"
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# -- the driver ----------------------------------------------------------------------------------


class Driver:
    """Keep-alive HTTP client + latency log per endpoint + the mail a journey waits for."""

    def __init__(self, base: str, watcher: MailWatcher, concurrency: int, headers: dict[str, str]) -> None:
        self.base = base
        self.watcher = watcher
        connector = aiohttp.TCPConnector(limit=concurrency * 2, force_close=False, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(
            base, connector=connector, headers=headers, cookie_jar=aiohttp.DummyCookieJar()
        )
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.recording = False
        self.requests = 0

    async def call(
        self, name: str, method: str, path: str, *, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        started = time.perf_counter()
        async with self.session.request(
            method, path, json=json_body, headers=headers, allow_redirects=False
        ) as response:
            raw = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if self.recording:
            self.latencies[name].append(elapsed)
            self.requests += 1
        body = json.loads(raw) if raw and response.content_type == "application/json" else None
        if response.status >= 400:
            raise RuntimeError(f"{name} -> {response.status}: {raw[:300]!r}")
        return response.status, body, response

    async def mail(self, recipient: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = self.watcher.take(recipient)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"no mail for {recipient} within {timeout}s")
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        await self.session.close()


async def watch(watcher: MailWatcher, stop: asyncio.Event) -> None:
    while not stop.is_set():
        watcher.scan()
        await asyncio.sleep(0.002)


def tag() -> str:
    return uuid.uuid4().hex[:12]


# -- journeys ------------------------------------------------------------------------------------


async def tenantry_journey(d: Driver) -> None:
    t = tag()
    domain = f"clinic-{t}.example.com"
    admin = f"admin@{domain}"
    send = "/v1/b2b/magic_links/email/discovery/send"
    await d.call("discovery send", "POST", send, json_body={"email_address": admin})
    token = await d.mail(admin)
    _, body, _ = await d.call(
        "discovery authenticate",
        "POST",
        "/v1/b2b/magic_links/discovery/authenticate",
        json_body={"discovery_magic_links_token": token},
    )
    _, body, _ = await d.call(
        "organization create",
        "POST",
        "/v1/b2b/discovery/organizations/create",
        json_body={
            "intermediate_session_token": body["intermediate_session_token"],
            "organization_name": f"Clinic {t}",
            "organization_slug": f"clinic-{t}",
        },
    )
    org_id = body["organization"]["organization_id"]
    as_admin = {"X-Stytch-Member-Session": body["session_token"]}
    team = [f"{role}@{domain}" for role in ("doctor", "nurse", "frontdesk")]
    for email in team:
        await d.call(
            "invite",
            "POST",
            "/v1/b2b/magic_links/email/invite",
            json_body={"organization_id": org_id, "email_address": email},
            headers=as_admin,
        )
    for email in team:
        token = await d.mail(email)
        _, body, _ = await d.call(
            "invite authenticate", "POST", "/v1/b2b/magic_links/authenticate", json_body={"magic_links_token": token}
        )
        if body["member"]["status"] != "active" or body["organization_id"] != org_id:
            raise RuntimeError("invitee did not land in the organization")


def _cookie(response: aiohttp.ClientResponse) -> str:
    for header in response.headers.getall("Set-Cookie", []):
        name_value = header.split(";", 1)[0]
        if name_value.startswith("better-auth.session_token="):
            return name_value
    raise RuntimeError("magic-link verify set no session cookie")


async def better_auth_sign_in(d: Driver, email: str) -> dict[str, str]:
    await d.call("sign-in/magic-link", "POST", "/api/auth/sign-in/magic-link", json_body={"email": email})
    token = (await d.mail("magic:" + email))["token"]
    status, _, response = await d.call(
        "magic-link/verify", "GET", f"/api/auth/magic-link/verify?token={token}&callbackURL=/"
    )
    if status != 302:
        raise RuntimeError(f"magic-link verify answered {status}")
    return {"Cookie": _cookie(response)}


async def better_auth_journey(d: Driver) -> None:
    t = tag()
    domain = f"clinic-{t}.example.com"
    owner = await better_auth_sign_in(d, f"admin@{domain}")
    _, body, _ = await d.call(
        "organization/create",
        "POST",
        "/api/auth/organization/create",
        json_body={"name": f"Clinic {t}", "slug": f"clinic-{t}"},
        headers=owner,
    )
    org_id = body["id"]
    team = [f"{role}@{domain}" for role in ("doctor", "nurse", "frontdesk")]
    invitations = {}
    for email in team:
        _, body, _ = await d.call(
            "organization/invite-member",
            "POST",
            "/api/auth/organization/invite-member",
            json_body={"email": email, "role": "member", "organizationId": org_id},
            headers=owner,
        )
        invitations[email] = body["id"]
    for email in team:
        await d.mail("invite:" + email)  # the invitation mail, as the invitee would see it
        invitee = await better_auth_sign_in(d, email)
        _, body, _ = await d.call(
            "organization/accept-invitation",
            "POST",
            "/api/auth/organization/accept-invitation",
            json_body={"invitationId": invitations[email]},
            headers=invitee,
        )
        if body["member"]["organizationId"] != org_id:
            raise RuntimeError("invitee did not land in the organization")


def better_auth_mail(data: bytes) -> tuple[str, Any] | None:
    message = json.loads(data)
    return f"{message['kind']}:{message['to'].lower()}", message


# -- systems under test --------------------------------------------------------------------------


@dataclass
class Target:
    """One started server and how to drive it."""

    process: Process
    base: str
    system: str
    watcher: MailWatcher
    journey: Callable[[Driver], Awaitable[None]]
    headers: dict[str, str]
    settings: str  # the database settings as the server reports them
    cleanup: Callable[[], None] = lambda: None


def sqlite_settings(path: str) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    # synchronous is per connection: Tenantry's engine sets NORMAL on every connection it opens.
    return f"journal_mode={mode}, synchronous=NORMAL (set per connection by tenantry.db.engine)"


def start_tenantry(db: str, workers: int, pg: PostgresCluster | None) -> Target:
    tmp = tempfile.mkdtemp(prefix="tenantry-onboarding-")
    if db == "sqlite":
        path = os.path.join(tmp, "tenantry.db")
        url = f"sqlite:///{path}"
    else:
        assert pg is not None
        url = pg.new_database("onboarding")
    project_id, secret = create_project(url, "onboarding")
    server = TenantryServer(url, workers=workers)
    settings = sqlite_settings(path) if db == "sqlite" else pg.describe()  # type: ignore[union-attr]
    auth = base64.b64encode(f"{project_id}:{secret}".encode()).decode()
    watcher = MailWatcher(server.mailbox / "new", mail_recipient_and_token, done=server.mailbox / "cur")
    return Target(
        server,
        server.base,
        "tenantry",
        watcher,
        tenantry_journey,
        {"Authorization": f"Basic {auth}"},
        settings,
        lambda: shutil.rmtree(tmp, ignore_errors=True),
    )


def ensure_node_modules() -> None:
    if (BA_DIR / "node_modules" / "better-auth").exists() and (BA_DIR / "node_modules" / "better-sqlite3").exists():
        return
    print("[better-auth] node_modules missing: npm ci (better-sqlite3 compiles, ~90 s)", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BA_DIR, check=True)


def start_better_auth(workers: int, pragmas: str) -> Target:
    tmp = tempfile.mkdtemp(prefix="better-auth-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    mail = Path(tmp) / "mail"
    env = {
        **os.environ,
        "PORT": str(port),
        "BA_DB": os.path.join(tmp, "ba.sqlite"),
        "BA_MAIL_DIR": str(mail),
        "BA_WORKERS": str(workers),
        "BA_PRAGMAS": pragmas,
        "NODE_ENV": "production",
    }
    process = Process(["node", "server.mjs"], env=env, cwd=str(BA_DIR), tmp=tmp, ready_url=base + "/api/auth/ok")
    reported = httpx.get(base + "/bench/pragmas").json()
    settings = f"journal_mode={reported['journal_mode']}, synchronous={SYNCHRONOUS.get(reported['synchronous'])}"
    return Target(
        process,
        base,
        "better-auth",
        MailWatcher(mail, better_auth_mail, done=Path(tmp) / "read"),
        better_auth_journey,
        {"Origin": base},
        settings,
        lambda: shutil.rmtree(tmp, ignore_errors=True),
    )


# -- one measurement -----------------------------------------------------------------------------


@dataclass
class Result:
    flows_per_s: float
    requests_per_s: float
    latencies: dict[str, list[float]]
    driver_cpu: float  # share of one core the driver process used
    server_cpu: float  # cores the server processes used
    errors: int
    paced: dict[str, list[float]] = field(default_factory=dict)
    paced_rate: float = 0.0
    paced_cpu: float = 0.0  # cores the server processes used during the paced run


async def closed_loop(target: Target, concurrency: int, seconds: float, warmup: float) -> Result:
    """``concurrency`` journeys in flight at all times; journeys/s = completed / seconds."""
    driver = Driver(target.base, target.watcher, concurrency, target.headers)
    stop = asyncio.Event()
    watcher_task = asyncio.create_task(watch(target.watcher, stop))
    completed = 0
    errors: list[str] = []
    deadline = 0.0

    async def worker() -> None:
        nonlocal completed
        while time.monotonic() < deadline:
            try:
                await target.journey(driver)
            except Exception as exc:  # a failed journey is reported, never counted
                # Not fatal: better-auth on 2 processes answers some verifies with 500 (SQLite
                # busy), and one configuration's failures must not lose the whole run's figures.
                errors.append(str(exc))
                continue
            if driver.recording and time.monotonic() <= deadline:
                completed += 1

    try:
        deadline = time.monotonic() + warmup
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        driver.recording = True
        mine, theirs = os.times(), target.process.cpu_seconds()
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.monotonic() - started
        after = os.times()
        driver_cpu = (after.user + after.system - mine.user - mine.system) / wall
        server_cpu = (target.process.cpu_seconds() - theirs) / wall
    finally:
        stop.set()
        await watcher_task
        await driver.close()
    if errors:
        print(f"  ! {len(errors)} journeys failed, first: {errors[0]}", flush=True)
    return Result(
        flows_per_s=completed / seconds,
        requests_per_s=driver.requests / wall,
        latencies=dict(driver.latencies),
        driver_cpu=driver_cpu,
        server_cpu=server_cpu,
        errors=len(errors),
    )


async def paced(target: Target, rate: float, seconds: float) -> dict[str, list[float]]:
    """Open loop: a journey starts every 1/rate s whatever the others do (latency at a given load)."""
    driver = Driver(target.base, target.watcher, 64, target.headers)
    driver.recording = True
    stop = asyncio.Event()
    watcher_task = asyncio.create_task(watch(target.watcher, stop))
    tasks = []
    try:
        started = time.monotonic()
        n = 0
        while (now := time.monotonic()) - started < seconds:
            due = started + n / rate
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(target.journey(driver)))
            n += 1
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            print(f"  ! paced: {len(failed)} journeys failed, first: {failed[0]}", flush=True)
    finally:
        stop.set()
        await watcher_task
        await driver.close()
    return dict(driver.latencies)


def measure(start: Callable[[], Target], args: argparse.Namespace, at_80: bool, label: str) -> tuple[Result, str]:
    target = start()
    profilers = []
    try:
        if args.profile and target.system == "tenantry":
            profilers = start_profilers(target, args, label)
        result = asyncio.run(closed_loop(target, args.concurrency, args.seconds, args.warmup))
        for profiler in profilers:
            profiler.wait()
        if at_80 and result.flows_per_s > 0:
            result.paced_rate = 0.8 * result.flows_per_s
            cpu, started = target.process.cpu_seconds(), time.monotonic()
            result.paced = asyncio.run(paced(target, result.paced_rate, args.seconds))
            # Near 100 % of what the peak run used means the paced rate was not 80 % of what the
            # server could do any more (the machine slowed down, or a lighter load costs more per
            # journey): its latencies then measure a queue.
            result.paced_cpu = (target.process.cpu_seconds() - cpu) / (time.monotonic() - started)
    finally:
        target.process.stop()
        target.cleanup()
    return result, target.settings


def start_profilers(target: Target, args: argparse.Namespace, label: str) -> list[subprocess.Popen[bytes]]:
    """py-spy on every serving process for the measured window (after the warm-up), as
    collapsed stacks: ``bench/profile.py FILE`` sums them per function."""
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in label).strip("-")
    command = "py-spy" if shutil.which("py-spy") else str(Path(os.sys.executable).parent / "py-spy")
    procs = []
    for pid in target.process.pids:
        args_ = [command, "record", "--pid", str(pid), "--duration", str(int(args.warmup + args.seconds))]
        args_ += ["--rate", "250", "--format", "raw", "--nonblocking", "-o", str(out / f"{slug}-{pid}.txt")]
        if args.profile_gil:
            args_.append("--gil")
        procs.append(subprocess.Popen(args_, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


# -- report --------------------------------------------------------------------------------------


def report(label: str, results: list[Result], settings: str) -> float:
    flows = median([r.flows_per_s for r in results])
    print(f"\n== {label} ==   [{settings}]")
    runs = " ".join(f"{r.flows_per_s:.1f}" for r in results)
    print(
        f"journeys/s {flows:.1f} (runs: {runs}) | requests/s {median([r.requests_per_s for r in results]):.0f}"
        f" | server CPU {median([r.server_cpu for r in results]) * 100:.0f}%"
        f" ({median([r.server_cpu / max(r.flows_per_s, 1e-9) * 1000 for r in results]):.1f} ms per journey)"
        f" | driver CPU {median([r.driver_cpu for r in results]) * 100:.0f}% of one core"
        + (f" | failed journeys {sum(r.errors for r in results)}" if any(r.errors for r in results) else "")
    )
    paced_on = any(r.paced for r in results)
    head = f"{'endpoint':32} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}"
    if paced_on:
        rate = median([r.paced_rate for r in results])
        cpu = median([r.paced_cpu for r in results]) * 100
        paced_head = f"at 80% ({rate:.1f} journeys/s, server CPU {cpu:.0f}%): "
        head += f" | {paced_head}{'p50 ms':>7} {'p99 ms':>7}"
    print(head)
    for name in results[0].latencies:
        n = sum(len(r.latencies.get(name, [])) for r in results)
        p50 = median([percentile(r.latencies[name], 50) for r in results if name in r.latencies])
        p99 = median([percentile(r.latencies[name], 99) for r in results if name in r.latencies])
        line = f"{name:32} {n:>7} {p50:>8.1f} {p99:>8.1f}"
        if paced_on:
            p = [r.paced[name] for r in results if r.paced.get(name)]
            p50, p99 = median([percentile(x, 50) for x in p]), median([percentile(x, 99) for x in p])
            line += f" | {'':{len(paced_head)}}{p50:>7.1f} {p99:>7.1f}"
        print(line)
    return flows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="measurements per configuration; medians are printed")
    ap.add_argument("--seconds", type=float, default=20, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each run")
    ap.add_argument("--concurrency", type=int, default=16, help="journeys in flight")
    ap.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    ap.add_argument("--databases", default="sqlite,postgresql", help="Tenantry databases: sqlite,postgresql")
    ap.add_argument("--no-better-auth", action="store_true")
    ap.add_argument(
        "--better-auth-pragmas",
        default="wal",
        choices=["wal", "default", "both"],
        help="wal: WAL + synchronous=NORMAL like Tenantry; default: better-sqlite3's DELETE + FULL",
    )
    ap.add_argument("--no-80", action="store_true", help="skip the paced run at 80%% of the measured peak")
    ap.add_argument("--profile", metavar="DIR", help="py-spy the Tenantry servers into DIR (collapsed stacks)")
    ap.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (CPU, not waits)",
    )
    args = ap.parse_args()
    freeze_driver_heap()
    workers = [int(w) for w in args.workers.split(",") if w]
    databases = [d for d in args.databases.split(",") if d]

    print(f"machine: {machine()}")
    print(
        f"runs={args.runs} x {args.seconds:g}s after {args.warmup:g}s warm-up, {args.concurrency} journeys in flight;"
        " medians of the runs"
    )
    pg = PostgresCluster() if "postgresql" in databases else None
    configs: list[tuple[str, Callable[[], Target], bool]] = []
    try:
        for db in databases:
            for w in workers:
                configs.append(
                    (f"tenantry {db}, {w} worker(s)", lambda db=db, w=w: start_tenantry(db, w, pg), not args.no_80)
                )
        if not args.no_better_auth:
            ensure_node_modules()
            modes = ["wal", "default"] if args.better_auth_pragmas == "both" else [args.better_auth_pragmas]
            for mode in modes:
                for w in workers:
                    configs.append(
                        (
                            f"better-auth sqlite ({mode}), {w} worker(s)",
                            lambda w=w, mode=mode: start_better_auth(w, mode),
                            False,
                        )
                    )
        results: dict[str, list[Result]] = defaultdict(list)
        settings: dict[str, str] = {}
        # Runs interleave the configurations, so a noisy minute hurts all of them alike.
        for run in range(args.runs):
            for label, start, at_80 in configs:
                print(f"[run {run + 1}/{args.runs}] {label} ...", flush=True)
                result, settings[label] = measure(start, args, at_80, label)
                results[label].append(result)
                print(
                    f"  {result.flows_per_s:.1f} journeys/s, driver CPU {result.driver_cpu * 100:.0f}%,"
                    f" server CPU {result.server_cpu * 100:.0f}%"
                    f" = {result.server_cpu / max(result.flows_per_s, 1e-9) * 1000:.1f} ms per journey",
                    flush=True,
                )
    finally:
        if pg is not None:
            pg.stop()

    rates = {label: report(label, results[label], settings[label]) for label, _, _ in configs}
    print("\n== Tenantry / better-auth, whole journeys per second (same machine, same run, SQLite) ==")
    print("(better-auth's journey has 15 requests to Tenantry's 9: an invitee signs in, then accepts by id)")
    for w in workers:
        ours = rates.get(f"tenantry sqlite, {w} worker(s)")
        for label, theirs in rates.items():
            if label.startswith("better-auth") and label.endswith(f", {w} worker(s)") and ours and theirs:
                ratio = ours / theirs
                print(f"  {w} worker(s): tenantry {ours:.1f} / {label} {theirs:.1f} = {ratio:.2f}x  (target >= 2x)")


if __name__ == "__main__":
    main()
