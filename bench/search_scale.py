"""Organization search, member search and discovery authenticate latency at 1k and at 1M members.

Creates the database the way a user would (``tenantry migrate``, ``tenantry projects create``),
bulk-seeds organizations / organization_domains / members with SQLAlchemy Core executemany,
starts a real server (``python -m tenantry serve``) and measures over HTTP with Basic auth.
Seeded SQLite files are cached under ``bench/.data/`` so reruns skip seeding.

    .venv/bin/python bench/search_scale.py                 # small + large on SQLite
    .venv/bin/python bench/search_scale.py --sizes small   # quick check
    .venv/bin/python bench/search_scale.py --postgres-url postgresql://u:p@127.0.0.1/db

See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import sqlalchemy as sa
from harness import freeze_driver_heap

from tenantry.db.schema import members, organization_domains, organizations
from tenantry.organizations.models import DEFAULT_SETTINGS

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
PYTHON = sys.executable
SEED_VERSION = 1  # bump when the seeded data shape changes, to invalidate the cache

SIZES = {
    "small": (100, 1_000),  # organizations, members
    "large": (100_000, 1_000_000),
}

ADJ = [
    "Acme",
    "Blue",
    "Northern",
    "Bright",
    "Silver",
    "Rapid",
    "Green",
    "Summit",
    "Harbor",
    "Pioneer",
    "Cedar",
    "Atlas",
    "Golden",
    "Quantum",
    "Crimson",
    "Evergreen",
    "Iron",
    "Lunar",
    "Coastal",
    "Prairie",
]
NOUN = [
    "Health",
    "Labs",
    "Dental",
    "Logistics",
    "Capital",
    "Robotics",
    "Clinic",
    "Foods",
    "Studios",
    "Systems",
    "Analytics",
    "Energy",
    "Partners",
    "Pharma",
    "Networks",
    "Bakery",
    "Legal",
    "Motors",
    "Media",
    "Works",
]
FIRST = [
    "ada",
    "alan",
    "grace",
    "linus",
    "barbara",
    "ken",
    "dennis",
    "margaret",
    "edsger",
    "donald",
    "frances",
    "john",
    "radia",
    "tim",
    "vint",
    "anita",
    "guido",
    "bjarne",
    "sophie",
    "niklaus",
]
LAST = [
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "liskov",
    "thompson",
    "ritchie",
    "hamilton",
    "dijkstra",
    "knuth",
    "allen",
    "mccarthy",
    "perlman",
    "lee",
    "cerf",
    "borg",
    "rossum",
    "stroustrup",
    "wilson",
    "wirth",
]

WARMUP = 20
REQUESTS = 200
RSS_TARGET_MB = 150
# The rows issue 6's growth target names: discovery authenticate and member search.
GROWTH_ROWS = ("discovery authenticate (1 org)", "member: 1 org, no query", "member: member_emails exact")


def growth(small: float, large: float) -> str:
    return f"{100 * (large - small) / small:+.0f}%"


# -- database ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    database_url: str
    project_id: str
    secret: str
    orgs: int
    members: int
    seconds: float  # seeding time (0 when taken from the cache)
    cached: bool
    sample_orgs: list[dict[str, Any]] = field(default_factory=list)  # id, slug, name, emails


def run_cli(*args: str) -> str:
    out = subprocess.run([PYTHON, "-m", "tenantry", *args], check=True, capture_output=True, text=True)
    return out.stdout


def seed(database_url: str, n_orgs: int, n_members: int, *, label: str) -> Seeded:
    """Migrate, create a project, bulk insert. Returns the project credentials and samples."""
    t0 = time.perf_counter()
    run_cli("migrate", "--database-url", database_url)
    project = json.loads(
        run_cli(
            "projects",
            "create",
            "--name",
            f"bench-{label}",
            "--json",
            "--redirect-url",
            "http://127.0.0.1/authenticate",
            "--database-url",
            database_url,
        )
    )
    project_id, secret = project["project_id"], project["secret"]
    env = "live" if project_id.startswith("project-live-") else "test"
    rnd = random.Random(f"{label}-{n_orgs}-{n_members}")
    now = datetime.now(UTC)
    settings = dict(DEFAULT_SETTINGS)
    per_org = n_members // n_orgs

    engine = sa.create_engine(database_url)
    is_sqlite = engine.dialect.name == "sqlite"
    samples: list[dict[str, Any]] = []
    sample_every = max(1, n_orgs // 50)
    batch_orgs = 5_000
    with engine.connect() as conn:
        if is_sqlite:
            # Seeding only: no rollback journal, no fsync, a big page cache.
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
            conn.commit()
        with conn.begin():
            for start in range(0, n_orgs, batch_orgs):
                org_rows, dom_rows, mem_rows = [], [], []
                for i in range(start, min(start + batch_orgs, n_orgs)):
                    name = f"{rnd.choice(ADJ)} {rnd.choice(NOUN)} {i}"
                    slug = name.lower().replace(" ", "-")
                    org_id = f"organization-{env}-{uuid.uuid4()}"
                    domain = f"{slug}.example.com"
                    org_rows.append(
                        {
                            "organization_id": org_id,
                            "project_id": project_id,
                            "name": name,
                            "slug": slug,
                            "external_id": None,
                            "logo_url": "",
                            "trusted_metadata": {},
                            "settings": {**settings, "email_allowed_domains": [domain]},
                            "created_at": now,
                            "updated_at": now,
                            "custom_roles": [],
                        }
                    )
                    dom_rows.append({"project_id": project_id, "organization_id": org_id, "domain": domain})
                    emails = []
                    for j in range(per_org):
                        first, last = rnd.choice(FIRST), rnd.choice(LAST)
                        email = f"{first}.{last}.{j}@{domain}"
                        emails.append(email)
                        mem_rows.append(
                            {
                                "member_id": f"member-{env}-{uuid.uuid4()}",
                                "project_id": project_id,
                                "organization_id": org_id,
                                "email_address": email,
                                "email_domain": domain,
                                "email_id": f"member-email-{env}-{uuid.uuid4()}",
                                "email_verified": True,
                                "status": "active",
                                "name": f"{first.title()} {last.title()}",
                                "roles": [],
                                "trusted_metadata": {},
                                "untrusted_metadata": {},
                                "is_breakglass": False,
                                "external_id": None,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                    if i % sample_every == 0:
                        samples.append({"organization_id": org_id, "slug": slug, "name": name, "emails": emails})
                conn.execute(organizations.insert(), org_rows)
                conn.execute(organization_domains.insert(), dom_rows)
                conn.execute(members.insert(), mem_rows)
        # No ANALYZE here: planner statistics are Tenantry's own business (tenantry.db.statistics,
        # run by the migrate step before each measurement), and the benchmark measures what it does.
        if is_sqlite:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            conn.commit()
    engine.dispose()
    seconds = time.perf_counter() - t0
    return Seeded(database_url, project_id, secret, n_orgs, n_members, seconds, False, samples)


def sqlite_seeded(size: str) -> Seeded:
    n_orgs, n_members = SIZES[size]
    DATA.mkdir(parents=True, exist_ok=True)
    db = DATA / f"{size}-v{SEED_VERSION}.db"
    meta = DATA / f"{size}-v{SEED_VERSION}.json"
    if db.exists() and meta.exists():
        m = json.loads(meta.read_text())
        return Seeded(
            f"sqlite:///{db}", m["project_id"], m["secret"], n_orgs, n_members, m["seconds"], True, m["sample_orgs"]
        )
    partial = DATA / f"{size}-v{SEED_VERSION}.partial.db"
    for p in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        p.unlink(missing_ok=True)
    s = seed(f"sqlite:///{partial}", n_orgs, n_members, label=size)
    partial.rename(db)
    meta.write_text(
        json.dumps({"project_id": s.project_id, "secret": s.secret, "seconds": s.seconds, "sample_orgs": s.sample_orgs})
    )
    s.database_url = f"sqlite:///{db}"
    return s


def postgres_seeded(url: str, size: str) -> Seeded:
    """Both sizes live in one PostgreSQL database as two projects; the project credentials and
    samples are cached in bench/.data/ keyed by the URL, so reruns skip seeding."""
    n_orgs, n_members = SIZES[size]
    DATA.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    meta = DATA / f"pg-{key}-{size}-v{SEED_VERSION}.json"
    if meta.exists():
        m = json.loads(meta.read_text())
        with sa.create_engine(url).connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM projects WHERE project_id = :p"), {"p": m["project_id"]})
            if found.first() is not None:
                return Seeded(
                    url, m["project_id"], m["secret"], n_orgs, n_members, m["seconds"], True, m["sample_orgs"]
                )
    s = seed(url, n_orgs, n_members, label=size)
    meta.write_text(
        json.dumps({"project_id": s.project_id, "secret": s.secret, "seconds": s.seconds, "sample_orgs": s.sample_orgs})
    )
    return s


# -- server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, database_url: str) -> None:
        self.tmp = tempfile.mkdtemp(prefix="tenantry-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TENANTRY_DEV_MAILBOX_DIR": os.path.join(self.tmp, "mailbox"),
            "TENANTRY_OUTBOX_POLL_SECONDS": "0.05",
            # discovery_tokens() sends many links to one address; benchmarks run without limits.
            "TENANTRY_RATE_LIMITS_ENABLED": "false",
        }
        self.log = open(os.path.join(self.tmp, "server.log"), "w")
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "tenantry",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--database-url",
                database_url,
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.tmp, 'server.log').read_text()[-2000:]}")
            try:
                httpx.get(self.base + "/dev/mailbox/api/messages?to=nobody@example.com", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def worker_rss_mb(self) -> list[float]:
        """Current resident memory (VmRSS) of each serving process, MiB: the workers when uvicorn
        runs several, else the single server process."""
        pids = []
        try:
            pids = [int(c) for c in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            pass
        out = []
        for pid in pids or [self.proc.pid]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return out

    def peak_rss_mb(self) -> float:
        """VmHWM of the server process and any children (workers), in MiB."""
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        peak = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
        return peak / 1024

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- measurement ---------------------------------------------------------------------------------


def fuzzy_term(samples: list[dict[str, Any]]) -> str:
    return samples[len(samples) // 2]["name"].split()[1][:4].lower()  # e.g. "heal", a noun prefix


def queries(s: Seeded) -> dict[str, Any]:
    """name -> callable(client, i) performing one measured operation (may be several requests)."""
    orgs = s.sample_orgs

    def org(i: int) -> dict[str, Any]:
        return orgs[i % len(orgs)]

    def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = client.post(path, json=body)
        if r.status_code != 200:
            raise RuntimeError(f"{path} -> {r.status_code}: {r.text[:500]}")
        return r.json()

    def q(name: str, value: Any) -> dict[str, Any]:
        return {"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]}

    def walk(client: httpx.Client, i: int) -> None:
        cursor = None
        for _ in range(5):
            body: dict[str, Any] = {"limit": 100}
            if cursor:
                body["cursor"] = cursor
            cursor = post(client, "/v1/b2b/organizations/search", body)["results_metadata"].get("next_cursor")
            if not cursor:
                break

    term = fuzzy_term(orgs)
    return {
        "org: no query, limit 100": lambda c, i: post(c, "/v1/b2b/organizations/search", {"limit": 100}),
        "org: organization_slugs exact": lambda c, i: post(
            c, "/v1/b2b/organizations/search", {"query": q("organization_slugs", [org(i)["slug"]])}
        ),
        "org: name_fuzzy (4 chars)": lambda c, i: post(
            c, "/v1/b2b/organizations/search", {"limit": 100, "query": q("organization_name_fuzzy", term)}
        ),
        "org: 5 pages by cursor": walk,
        "member: 1 org, no query": lambda c, i: post(
            c, "/v1/b2b/organizations/members/search", {"organization_ids": [org(i)["organization_id"]]}
        ),
        "member: member_emails exact": lambda c, i: post(
            c,
            "/v1/b2b/organizations/members/search",
            {"organization_ids": [org(i)["organization_id"]], "query": q("member_emails", [org(i)["emails"][0]])},
        ),
        "member: member_email_fuzzy": lambda c, i: post(
            c,
            "/v1/b2b/organizations/members/search",
            {
                "organization_ids": [org(i)["organization_id"]],
                "query": q("member_email_fuzzy", org(i)["emails"][0].split("@")[0][:6]),
            },
        ),
    }


def discovery_tokens(client: httpx.Client, email: str, n: int) -> list[str]:
    # Earlier runs left (spent) mail in this mailbox: wait for n messages beyond those.
    before = len(client.get("/dev/mailbox/api/messages", params={"to": email}).json())
    for _ in range(n):
        r = client.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email})
        if r.status_code != 200:
            raise RuntimeError(f"discovery send -> {r.status_code}: {r.text[:500]}")
    # Wait on the outbox's counts, not on the mailbox: listing the mailbox parses every message in
    # the server's process, and polling it while hundreds arrive starved the delivery loop itself.
    deadline = time.monotonic() + 120
    while client.get("/dev/mailbox/api/outbox").json()["counts"]["queued"] and time.monotonic() < deadline:
        time.sleep(0.2)
    msgs = client.get("/dev/mailbox/api/messages", params={"to": email}).json()
    if len(msgs) < before + n:
        raise RuntimeError(f"only {len(msgs) - before} of {n} discovery mails arrived")
    return [parse_qs(urlparse(m["links"][0]).query)["token"][0] for m in msgs[:n]]


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def measure_once(
    clients: dict[str, httpx.Client], seeded: dict[str, Seeded], n: int, warmup: int
) -> dict[str, dict[str, tuple[int, float, float]]]:
    """Every query, per size. The sizes take turns request by request (small, large, small, ...):
    the machine's speed drifts by tens of percent within a minute, and requests to one size after
    the other put that drift into the growth ratios."""
    out: dict[str, dict[str, tuple[int, float, float]]] = {size: {} for size in seeded}
    ops = {size: queries(s) for size, s in seeded.items()}
    for name in ops[next(iter(seeded))]:
        for i in range(warmup):
            for size in seeded:
                ops[size][name](clients[size], i)
        times: dict[str, list[float]] = {size: [] for size in seeded}
        for i in range(n):
            for size in seeded:
                t = time.perf_counter()
                ops[size][name](clients[size], i)
                times[size].append((time.perf_counter() - t) * 1000)
        for size in seeded:
            out[size][name] = (n, percentile(times[size], 50), percentile(times[size], 99))
    # Discovery authenticate for an email that is a member of exactly one organization.
    tokens = {}
    for size, s in seeded.items():
        email = s.sample_orgs[len(s.sample_orgs) // 3]["emails"][1]
        tokens[size] = discovery_tokens(clients[size], email, n + warmup)
    times = {size: [] for size in seeded}
    for k in range(n + warmup):
        for size in seeded:
            t = time.perf_counter()
            r = clients[size].post(
                "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": tokens[size][k]}
            )
            dt = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"discovery authenticate -> {r.status_code}: {r.text[:500]}")
            found = r.json()["discovered_organizations"]
            if len(found) != 1:
                raise RuntimeError(f"expected 1 discovered organization, got {len(found)}")
            if k >= warmup:
                times[size].append(dt)
    for size in seeded:
        out[size]["discovery authenticate (1 org)"] = (n, percentile(times[size], 50), percentile(times[size], 99))
    return out


def measure(
    seeded: dict[str, Seeded], runs: int, n: int, warmup: int
) -> dict[str, tuple[dict[str, tuple[int, float, float]], float, list[float]]]:
    """Every size's server runs at once (``measure_once`` alternates between them)."""
    servers: dict[str, Server] = {}
    clients: dict[str, httpx.Client] = {}
    results: dict[str, list[dict[str, tuple[int, float, float]]]] = {size: [] for size in seeded}
    try:
        for size, s in seeded.items():
            servers[size] = Server(s.database_url)
            clients[size] = httpx.Client(base_url=servers[size].base, auth=(s.project_id, s.secret), timeout=120)
        for run in range(runs):
            for size, measured in measure_once(clients, seeded, n, warmup).items():
                results[size].append(measured)
            print(f"run {run + 1}/{runs} measured", flush=True)
        out = {}
        for size in seeded:
            merged = {
                name: (
                    results[size][0][name][0] * runs,
                    statistics.median(r[name][1] for r in results[size]),
                    statistics.median(r[name][2] for r in results[size]),
                )
                for name in results[size][0]
            }
            out[size] = (merged, servers[size].peak_rss_mb(), servers[size].worker_rss_mb())
        return out
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.stop()


def explain(s: Seeded) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) for the statements the slow-looking queries run."""
    if not s.database_url.startswith("sqlite"):
        return []
    term = fuzzy_term(s.sample_orgs)
    p = s.project_id
    stmts = {
        "org count (no query)": f"SELECT count(*) FROM organizations WHERE project_id = '{p}'",
        "org name fuzzy page": f"SELECT * FROM organizations WHERE project_id = '{p}' AND lower(name) LIKE "
        f"'%{term}%' ESCAPE '/' ORDER BY organization_id LIMIT 101",
        "org name fuzzy count": f"SELECT count(*) FROM organizations WHERE project_id = '{p}' AND lower(name) "
        f"LIKE '%{term}%' ESCAPE '/'",
        # Member search of one organization (page and total): the statements that walked the whole
        # project while the database had no statistics (fixed by migration 0011).
        "member 1 org page": f"SELECT * FROM members WHERE project_id = '{p}' AND organization_id IN "
        f"('{s.sample_orgs[0]['organization_id']}') AND status != 'deleted' ORDER BY member_id LIMIT 101",
        "member 1 org count": f"SELECT count(*) FROM members WHERE project_id = '{p}' AND organization_id IN "
        f"('{s.sample_orgs[0]['organization_id']}') AND status != 'deleted'",
    }
    lines = []
    with sa.create_engine(s.database_url).connect() as conn:
        for label, sql in stmts.items():
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            lines.append(f"  {label}: " + " | ".join(str(r[-1]) for r in plan))
    return lines


def main() -> None:
    global DATA
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1, help="repeat every measurement N times; report medians")
    ap.add_argument("--requests", type=int, default=REQUESTS, help="measured requests per query per run")
    ap.add_argument("--warmup", type=int, default=WARMUP, help="unmeasured requests before each query")
    ap.add_argument("--sizes", default="small,large", help="comma-separated: small,large")
    ap.add_argument("--postgres-url", help="also run against this (empty, or previously seeded) PostgreSQL")
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--data-dir", type=Path, default=DATA, help="where seeded databases are cached")
    args = ap.parse_args()
    freeze_driver_heap()
    DATA = args.data_dir
    sizes = [x for x in args.sizes.split(",") if x]

    backends: list[tuple[str, Any]] = []
    if not args.no_sqlite:
        backends.append(("sqlite", sqlite_seeded))
    if args.postgres_url:
        backends.append(("postgresql", lambda size: postgres_seeded(args.postgres_url, size)))

    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}")
    print(f"{args.requests} requests after {args.warmup} warm-up per query, runs={args.runs} (medians)\n")
    for backend, get_seeded in backends:
        table: dict[str, dict[str, tuple[int, float, float]]] = {}
        rss: dict[str, float] = {}
        worker_rss: dict[str, list[float]] = {}
        seeded: dict[str, Seeded] = {}
        for size in sizes:
            s = get_seeded(size)
            seeded[size] = s
            how = f"cached (seeded originally in {s.seconds:.1f}s)" if s.cached else f"seeded in {s.seconds:.1f}s"
            print(f"[{backend}/{size}] {s.orgs:,} orgs, {s.members:,} members: {how}", flush=True)
            if s.cached:
                # A cache seeded under an older schema is upgraded as an operator would, before the
                # server starts: migrating 1M members inside serve's start-up outlasts its wait.
                started = time.perf_counter()
                run_cli("migrate", "--database-url", s.database_url)
                print(f"[{backend}/{size}] migrate: {time.perf_counter() - started:.1f}s", flush=True)
        for size, (table[size], rss[size], worker_rss[size]) in measure(
            seeded, args.runs, args.requests, args.warmup
        ).items():
            print(f"[{backend}/{size}] measured; server peak RSS {rss[size]:.0f} MiB", flush=True)
        print(f"\n== {backend} ==")
        head = f"{'query':34}"
        for size in sizes:
            head += f" | {size + ' n':>8} {'p50 ms':>8} {'p99 ms':>8}"
        if "small" in sizes and "large" in sizes:
            head += f" | {'large/small p50':>15}"
        print(head)
        print("-" * len(head))
        for name in table[sizes[0]]:
            line = f"{name:34}"
            for size in sizes:
                n, p50, p99 = table[size][name]
                line += f" | {n:>8} {p50:>8.2f} {p99:>8.2f}"
            if "small" in sizes and "large" in sizes:
                line += f" | {table['large'][name][1] / table['small'][name][1]:>14.1f}x"
            print(line)
        print("server peak RSS (VmHWM): " + ", ".join(f"{size} {rss[size]:.0f} MiB" for size in sizes))
        print(
            "resident memory per worker after the run (VmRSS): "
            + ", ".join(f"{size} " + "/".join(f"{m:.0f}" for m in worker_rss[size]) + " MiB" for size in sizes)
            # The target is in MB (10^6 bytes): 150 MB is 143 MiB.
            + f"  (target <= {RSS_TARGET_MB} MB = {RSS_TARGET_MB * 1e6 / 2**20:.0f} MiB per worker at 1M members)"
        )
        if "small" in sizes and "large" in sizes:
            print("latency growth 1k -> 1M members (target <= 20%):")
            for name in GROWTH_ROWS:
                small, large = table["small"][name], table["large"][name]
                print(
                    f"  {name:34} p50 {small[1]:.2f} -> {large[1]:.2f} ms ({growth(small[1], large[1])}),"
                    f" p99 {small[2]:.2f} -> {large[2]:.2f} ms ({growth(small[2], large[2])})"
                )
        print(
            "seeding time: "
            + ", ".join(
                f"{size} {seeded[size].seconds:.1f}s{' (cached)' if seeded[size].cached else ''}" for size in sizes
            )
        )
        if "large" in seeded:
            plans = explain(seeded["large"])
            if plans:
                print("EXPLAIN QUERY PLAN (large):")
                print("\n".join(plans))
        print()


if __name__ == "__main__":
    main()
