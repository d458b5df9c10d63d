"""``sessions.authenticate`` throughput against the two ceilings that bound it on this machine.

1. Tenantry: ``tenantry serve`` (one worker, SQLite) answering ``POST /v1/b2b/sessions/authenticate``
   with a session token; every answer carries a session JWT as Stytch's does. The requests cycle
   over ``--sessions`` live sessions (distinct members and organizations).
2. The bare ceiling: a JSON endpoint on the same stack (bench/bare_app.py: Starlette on uvicorn,
   one worker, the same uvicorn options), same request body.
3. The signing ceiling: RS256 JWTs/s that PyJWT signs on one core with the project's own key
   (read from the database), over the claims of a JWT Tenantry actually issued.

Load comes from ``wrk`` (C, keep-alive; ``apt-get install wrk``), one thread, ``--connections``.
Prints requests/s and p50/p99 for each (medians of ``--runs``), and the ratio of Tenantry to the
lower ceiling, naming the one that binds (target >= 70 %).

    .venv/bin/python bench/sessions_auth.py --runs 3
    .venv/bin/python bench/sessions_auth.py --runs 1 --seconds 3      # smoke run

See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from harness import (
    HERE,
    MailWatcher,
    Process,
    TenantryServer,
    create_project,
    free_port,
    freeze_driver_heap,
    machine,
    mail_recipient_and_token,
    median,
)

WRK_SCRIPT = """
tokens = {%(tokens)s}
counter = 0
request = function()
  counter = counter + 1
  local body = '{"session_token":"' .. tokens[(counter %% #tokens) + 1] .. '"}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json",
    ["Authorization"] = "%(auth)s"}, body)
end
"""


def wrk(url: str, path: str, tokens: list[str], auth: str, seconds: float, connections: int) -> dict[str, float]:
    """Run wrk; requests/s, p50/p99 ms and the count of non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"tokens": ",".join(f'"{t}"' for t in tokens), "path": path, "auth": auth})
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m[1]) * {"us": 0.001, "ms": 1, "s": 1000}[m[2]]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": ms("50%"), "p99": ms("99%"), "errors": float(bad[1]) if bad else 0.0}


def make_sessions(server: TenantryServer, auth: dict[str, str], n: int) -> tuple[list[str], str]:
    """n members, each the first admin of its own organization: their session tokens and one JWT."""
    watcher = MailWatcher(server.mailbox / "new", mail_recipient_and_token, done=server.mailbox / "cur")
    tokens, a_jwt = [], ""
    with httpx.Client(base_url=server.base, headers=auth, timeout=30) as client:
        for i in range(n):
            email = f"admin{i}@clinic{i}.example.com"
            client.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email}).raise_for_status()
            deadline = time.monotonic() + 30
            while (token := watcher.take(email)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no mail for {email}")
                time.sleep(0.01)
                watcher.scan()
            ist = client.post(
                "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}
            ).json()["intermediate_session_token"]
            created = client.post(
                "/v1/b2b/discovery/organizations/create",
                json={
                    "intermediate_session_token": ist,
                    "organization_name": f"Clinic {i}",
                    "organization_slug": f"c{i}",
                },
            ).json()
            tokens.append(created["session_token"])
            a_jwt = created["session_jwt"]
    return tokens, a_jwt


def signing_rate(database: str, session_jwt: str, seconds: float) -> float:
    """RS256 signatures per second on one core, with the project's key and a real JWT's claims."""
    with sqlite3.connect(database) as conn:
        pem = conn.execute("SELECT private_key_pem FROM signing_keys WHERE retired_at IS NULL").fetchone()[0]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    claims = jwt.decode(session_jwt, options={"verify_signature": False})
    headers = jwt.get_unverified_header(session_jwt)
    n, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(50):
            jwt.encode(claims, key, algorithm="RS256", headers={"kid": headers["kid"], "typ": "JWT"})
        n += 50
    return n / elapsed


def profile(server: Process, directory: str, seconds: float, flags: list[str]) -> None:
    """py-spy the worker for the run that starts now (collapsed stacks; bench/profile.py sums them)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    command = shutil.which("py-spy") or str(Path(os.sys.executable).parent / "py-spy")
    for pid in server.pids:
        out = str(Path(directory) / f"sessions-authenticate-{pid}.txt")
        args = [
            command,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "250",
            *flags,
        ]
        subprocess.Popen([*args, "--format", "raw", "--nonblocking", "-o", out], stderr=subprocess.DEVNULL)


class BareServer(Process):
    def __init__(self) -> None:
        tmp = tempfile.mkdtemp(prefix="bare-bench-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [os.sys.executable, str(HERE / "bare_app.py"), "--port", str(self.port)]
        super().__init__(args, env=dict(os.environ), cwd=str(HERE), tmp=tmp, ready_url=self.base + "/healthz")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="measurements of each; medians are printed")
    ap.add_argument("--seconds", type=float, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections")
    ap.add_argument("--sessions", type=int, default=50, help="distinct live sessions the requests cycle over")
    ap.add_argument("--profile", metavar="DIR", help="py-spy the Tenantry worker during the first run into DIR")
    ap.add_argument(
        "--profile-flags", default="", help="extra py-spy record flags, e.g. '--gil' (only the thread holding the GIL)"
    )
    args = ap.parse_args()
    freeze_driver_heap()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    print(f"machine: {machine()}")
    print(f"runs={args.runs} x {args.seconds:g}s, wrk -t1 -c{args.connections}, {args.sessions} sessions; medians\n")
    tmp = tempfile.mkdtemp(prefix="sessions-bench-")
    database = os.path.join(tmp, "tenantry.db")
    url = f"sqlite:///{database}"
    project_id, secret = create_project(url, "sessions")
    basic = "Basic " + base64.b64encode(f"{project_id}:{secret}".encode()).decode()
    tenantry = TenantryServer(url, workers=1)
    bare = BareServer()
    results: dict[str, list[dict[str, float]]] = {"tenantry": [], "bare": [], "sign": []}
    try:
        tokens, a_jwt = make_sessions(tenantry, {"Authorization": basic}, args.sessions)
        # Warm both servers (imports, caches, the pool) before measuring.
        wrk(tenantry.base, "/v1/b2b/sessions/authenticate", tokens, basic, 2, args.connections)
        wrk(bare.base, "/bare", tokens, basic, 2, args.connections)
        for run in range(args.runs):
            print(f"[run {run + 1}/{args.runs}]", end=" ", flush=True)
            cpu = tenantry.cpu_seconds()
            if args.profile and run == 0:
                profile(tenantry, args.profile, args.seconds, args.profile_flags.split())
            r = wrk(tenantry.base, "/v1/b2b/sessions/authenticate", tokens, basic, args.seconds, args.connections)
            r["cpu"] = (tenantry.cpu_seconds() - cpu) / args.seconds
            results["tenantry"].append(r)
            results["bare"].append(wrk(bare.base, "/bare", tokens, basic, args.seconds, args.connections))
            results["sign"].append({"rps": signing_rate(database, a_jwt, min(args.seconds, 5))})
            print(
                f"tenantry {results['tenantry'][-1]['rps']:.0f}/s, bare {results['bare'][-1]['rps']:.0f}/s,"
                f" RS256 sign {results['sign'][-1]['rps']:.0f}/s",
                flush=True,
            )
        check = httpx.post(
            tenantry.base + "/v1/b2b/sessions/authenticate",
            json={"session_token": tokens[0]},
            headers={"Authorization": basic},
        ).json()
    finally:
        tenantry.stop()
        bare.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, key: str) -> float:
        return median([r[key] for r in results[name]])

    print(f"\n{'':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    rows = [("tenantry sessions.authenticate (1 worker)", "tenantry"), ("bare JSON endpoint (1 worker)", "bare")]
    for label, name in rows:
        print(
            f"{label:44} {med(name, 'rps'):>9.0f} {med(name, 'p50'):>8.2f} {med(name, 'p99'):>8.2f}"
            f" {sum(r['errors'] for r in results[name]):>8.0f}"
        )
    print(f"{'RS256 signing, PyJWT, one core, same key':44} {med('sign', 'rps'):>9.0f}")
    cpu_ms = 1000 * med("tenantry", "cpu") / med("tenantry", "rps")
    print(
        f"tenantry worker CPU during its runs: {med('tenantry', 'cpu') * 100:.0f}% of a core,"
        f" {cpu_ms:.2f} ms of CPU per request (less sensitive to a busy machine than req/s)"
    )
    ours, bare_rps, sign = med("tenantry", "rps"), med("bare", "rps"), med("sign", "rps")
    binding = "RS256 signing" if sign < bare_rps else "the bare endpoint"
    ceiling = min(sign, bare_rps)
    print(
        f"\nsessions.authenticate = {100 * ours / ceiling:.0f}% of the lower ceiling ({binding}, {ceiling:.0f}/s);"
        f" {100 * ours / bare_rps:.0f}% of the bare endpoint, {100 * ours / sign:.0f}% of the signing rate"
        " (target >= 70% of the lower)"
    )
    claims = jwt.decode(check["session_jwt"], options={"verify_signature": False})
    print(f"a JWT in the answers: iat {claims['iat']}, exp - iat = {claims['exp'] - claims['iat']} s")


if __name__ == "__main__":
    main()
