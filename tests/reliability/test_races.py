"""Races on single-use secrets and unique names, each repeated for several rounds, on SQLite and
PostgreSQL (at READ COMMITTED), checked in the answers and in the tables.

tests/test_concurrency.py already proves that one discovery magic link authenticates once under
100 parallel calls and that one intermediate session creates one organization under 20 parallel
creates; this file adds the exchange of an intermediate session, an exchange racing a create on
the same intermediate session, an invitation accepted in parallel, and slug claims.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from reliability.flows import CREATE, clinic, ist_for
from reliability.load import LOAD_ENV
from tenantry.db.engine import create_engine
from tenantry.db.schema import member_sessions, members, organizations

ROUNDS = 3
PARALLEL = 8
EXCHANGE = "/v1/b2b/discovery/intermediate_sessions/exchange"


def race(server: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, int, dict[str, Any]]]:
    """POST each (path, body) from its own connected client, all released by one barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    clients = [httpx.Client(base_url=server.base_url, auth=server.auth, timeout=60) for _ in calls]
    for client in clients:  # connect first: the burst is the requests, not the handshakes
        assert client.get("/healthz").status_code == 200

    def worker(i: int) -> None:
        path, body = calls[i]
        try:
            barrier.wait(timeout=60)
            resp = clients[i].post(path, json=body)
            results[i] = (path, resp.status_code, resp.json())
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    failed = [r for r in results if not isinstance(r, tuple)]
    assert not failed, f"{failed[:3]}\n{server.log_tail()}"
    return results


def outcome(results: list[tuple[str, int, dict[str, Any]]]) -> Counter[tuple[int, str]]:
    return Counter((status, body.get("error_type", "")) for _, status, body in results)


class Db:
    """Counts read straight from the server's tables."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def scalar(self, query: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def sessions_of_email(self, email: str) -> int:
        join = member_sessions.join(members, members.c.member_id == member_sessions.c.member_id)
        return self.scalar(sa.select(sa.func.count()).select_from(join).where(members.c.email_address == email))

    def members_of(self, org_id: str, email: str) -> list[Any]:
        with self.engine.connect() as conn:
            query = sa.select(members).where(members.c.organization_id == org_id, members.c.email_address == email)
            return conn.execute(query).all()

    def organizations_with_slug(self, slug: str) -> int:
        return self.scalar(sa.select(sa.func.count()).where(organizations.c.slug == slug))

    def organizations(self) -> int:
        return self.scalar(sa.select(sa.func.count()).select_from(organizations))

    def close(self) -> None:
        self.engine.dispose()


def test_an_intermediate_session_exchanged_in_parallel_yields_one_session(
    server_factory: Callable[..., Any],
) -> None:
    server = server_factory(env=LOAD_ENV)
    email = "owner@exchange.example.com"
    org_id = clinic(server, email, "exchange-clinic")["organization"]["organization_id"]
    db = Db(server.database_url)
    try:
        for _ in range(ROUNDS):
            ist = ist_for(server, email)
            before = db.sessions_of_email(email)
            results = race(
                server, [(EXCHANGE, {"intermediate_session_token": ist, "organization_id": org_id})] * PARALLEL
            )
            counts = outcome(results)
            assert counts == Counter({(200, ""): 1, (404, "intermediate_session_not_found"): PARALLEL - 1}), counts
            assert db.sessions_of_email(email) == before + 1
    finally:
        db.close()


def test_an_exchange_racing_a_create_on_one_intermediate_session_lets_exactly_one_win(
    server_factory: Callable[..., Any],
) -> None:
    server = server_factory(env=LOAD_ENV)
    email = "owner@mixed.example.com"
    org_id = clinic(server, email, "mixed-clinic")["organization"]["organization_id"]
    db = Db(server.database_url)
    try:
        for round_ in range(ROUNDS):
            ist = ist_for(server, email)
            orgs, sessions = db.organizations(), db.sessions_of_email(email)
            calls = [(EXCHANGE, {"intermediate_session_token": ist, "organization_id": org_id})] * (PARALLEL // 2)
            calls += [
                (CREATE, {"intermediate_session_token": ist, "organization_slug": f"mixed-{round_}-{i}"})
                for i in range(PARALLEL // 2)
            ]
            results = race(server, calls)
            counts = outcome(results)
            assert counts == Counter({(200, ""): 1, (404, "intermediate_session_not_found"): PARALLEL - 1}), counts
            winner = next(path for path, status, _ in results if status == 200)
            assert db.organizations() == orgs + (1 if winner == CREATE else 0)
            assert db.sessions_of_email(email) == sessions + 1
    finally:
        db.close()


def test_an_invitation_accepted_in_parallel_yields_one_membership_and_one_success(
    server_factory: Callable[..., Any],
) -> None:
    server = server_factory(env=LOAD_ENV)
    org_id = clinic(server, "owner@invite.example.com", "invite-clinic")["organization"]["organization_id"]
    db = Db(server.database_url)
    try:
        for round_ in range(ROUNDS):
            email = f"nurse{round_}@invite.example.com"
            with server.client() as client:
                resp = client.post(
                    "/v1/b2b/magic_links/email/invite", json={"organization_id": org_id, "email_address": email}
                )
                assert resp.status_code == 200, resp.text
            token = server.latest_link_token(email)
            results = race(server, [("/v1/b2b/magic_links/authenticate", {"magic_links_token": token})] * PARALLEL)
            counts = outcome(results)
            assert counts == Counter({(200, ""): 1, (401, "unable_to_auth_magic_link"): PARALLEL - 1}), counts
            rows = db.members_of(org_id, email)
            assert [(r.status, r.email_verified) for r in rows] == [("active", True)]
            assert db.sessions_of_email(email) == 1
    finally:
        db.close()


def test_concurrent_discovery_creates_claiming_one_slug_yield_one_organization(
    server_factory: Callable[..., Any],
) -> None:
    server = server_factory(env=LOAD_ENV)
    founders = 4
    db = Db(server.database_url)
    try:
        for round_ in range(ROUNDS):
            slug = f"contested-{round_}"
            emails = [f"founder{i}@round{round_}.example.com" for i in range(founders)]
            ists = [ist_for(server, email) for email in emails]
            results = race(
                server, [(CREATE, {"intermediate_session_token": ist, "organization_slug": slug}) for ist in ists]
            )
            counts = outcome(results)
            assert counts == Counter({(200, ""): 1, (400, "organization_slug_already_used"): founders - 1}), counts
            assert db.organizations_with_slug(slug) == 1
            # A refused create changed nothing: no stray member, and its intermediate session is
            # still good for a clinic of its own.
            for (_, status, _), email, ist in zip(results, emails, ists, strict=True):
                if status == 200:
                    continue
                assert db.sessions_of_email(email) == 0
                with server.client() as client:
                    resp = client.post(
                        CREATE, json={"intermediate_session_token": ist, "organization_slug": f"{slug}-{email[:8]}"}
                    )
                assert resp.status_code == 200, resp.text
    finally:
        db.close()


def test_concurrent_organization_creates_claiming_one_slug_yield_one_organization(
    server_factory: Callable[..., Any],
) -> None:
    server = server_factory(env=LOAD_ENV)
    db = Db(server.database_url)
    try:
        for round_ in range(ROUNDS):
            slug = f"claimed-{round_}"
            body = {"organization_name": "Claimed", "organization_slug": slug}
            results = race(server, [("/v1/b2b/organizations", body)] * PARALLEL)
            counts = outcome(results)
            assert counts == Counter({(200, ""): 1, (400, "organization_slug_already_used"): PARALLEL - 1}), counts
            assert db.organizations_with_slug(slug) == 1
    finally:
        db.close()
