"""Tenant isolation (security.md §1.G, MT-1): a member of organization A, or a second project, can
neither read nor change organization B through any organization-scoped route.

Every route is called the way the SDKs call it (plain httpx, Basic project credentials):

* routes whose spec accepts ``X-Stytch-Member-Session`` get A's admin session token in that header
  and B's ids in the path/body: the answer must be a Stytch-shaped 403/404;
* routes without member-session support are all-powerful for the project's own secret, so their
  isolation boundary is the project: they are called with a second project's credentials against
  project 1's ids and must answer 404 (or 401 for a project-1 token, per Stytch).

Afterwards B's organization, members and member sessions must equal a snapshot taken before.
``CASES`` is explicit; ``test_every_scoped_route_has_an_isolation_case`` fails when a route is
added to ``tenantry.api.routes.ROUTES`` without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from otps.helpers import latest_code

from tenantry.api.routes import ROUTES

REDIRECT_URL = "http://localhost:3000/authenticate"
ERROR_FIELDS = {"status_code", "request_id", "error_type", "error_message", "error_url"}
SCOPED = re.compile(r"organization|member|sessions")


@dataclass
class Tenant:
    org_id: str
    slug: str
    admin_id: str
    admin_email: str
    admin_token: str
    member_id: str
    member_email: str
    member_token: str


@dataclass
class World:
    p1: httpx.Client  # project 1, no member session
    p2: httpx.Client  # project 2 (a different project on the same server)
    a: Tenant
    b: Tenant
    server: Any
    p2_project_id: str

    def as_a_admin(self) -> dict[str, str]:
        return {"X-Stytch-Member-Session": self.a.admin_token}


def _ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text}"
    return resp.json()


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def _tenant(server: Any, p1: httpx.Client, slug: str) -> Tenant:
    admin_email, member_email = f"admin@{slug}.example.com", f"staff@{slug}.example.com"
    _ok(
        p1.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={"email_address": admin_email, "discovery_redirect_url": REDIRECT_URL},
        )
    )
    ist = _ok(
        p1.post(
            "/v1/b2b/magic_links/discovery/authenticate",
            json={"discovery_magic_links_token": server.latest_link_token(admin_email)},
        )
    )["intermediate_session_token"]
    created = _ok(
        p1.post(
            "/v1/b2b/discovery/organizations/create",
            json={"intermediate_session_token": ist, "organization_name": slug.title(), "organization_slug": slug},
        )
    )
    org_id = created["organization"]["organization_id"]
    _ok(
        p1.post(
            "/v1/b2b/magic_links/email/invite",
            json={"organization_id": org_id, "email_address": member_email},
            headers={"X-Stytch-Member-Session": created["session_token"]},
        )
    )
    joined = _ok(
        p1.post(
            "/v1/b2b/magic_links/authenticate",
            json={
                "magic_links_token": _token(server.wait_for_mail(member_email)[0]["links"][0]),
                "session_duration_minutes": 60,
            },
        )
    )
    return Tenant(
        org_id=org_id,
        slug=slug,
        admin_id=created["member"]["member_id"],
        admin_email=admin_email,
        admin_token=created["session_token"],
        member_id=joined["member"]["member_id"],
        member_email=member_email,
        member_token=joined["session_token"],
    )


def _strip(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


def _snapshot(w: World) -> dict[str, Any]:
    """B's organization, members and member sessions, read with project 1's own credentials."""
    org = _strip(_ok(w.p1.get(f"/v1/b2b/organizations/{w.b.org_id}")))
    members = _ok(w.p1.post("/v1/b2b/organizations/members/search", json={"organization_ids": [w.b.org_id]}))
    member_ids = sorted(m["member_id"] for m in members["members"])
    assert set(member_ids) == {w.b.admin_id, w.b.member_id}
    sessions = {
        mid: _strip(_ok(w.p1.get("/v1/b2b/sessions", params={"organization_id": w.b.org_id, "member_id": mid})))
        for mid in member_ids
    }
    assert all(s["member_sessions"] for s in sessions.values()), sessions
    policy = _strip(_ok(w.p1.get(f"/v1/b2b/rbac/organizations/{w.b.org_id}")))
    return {
        "organization": org,
        "members": sorted((_strip(m) for m in members["members"]), key=lambda m: m["member_id"]),
        "sessions": sessions,
        "policy": policy,
    }


def _refused(resp: httpx.Response, allowed: tuple[int, ...] = (403, 404)) -> None:
    where = f"{resp.request.method} {resp.request.url} {resp.request.content!r}"
    assert resp.status_code in allowed, f"{where} -> {resp.status_code} {resp.text}"
    body = resp.json()
    assert ERROR_FIELDS <= set(body), f"{where}: not a Stytch error body: {body}"
    assert body["status_code"] == resp.status_code, body
    assert all(isinstance(body[k], str) and body[k] for k in ERROR_FIELDS - {"status_code"}), body


# -- the cases: (method, route path) -> a call that must be refused ------------------------------

Case = Callable[[World], None]

ORG = "/v1/b2b/organizations/{organization_id}"
MEMBER = "/v1/b2b/organizations/{organization_id}/members/{member_id}"


def _org_get(w: World) -> None:
    _refused(w.p2.get(f"/v1/b2b/organizations/{w.b.org_id}"), (404,))
    _refused(w.p2.get(f"/v1/b2b/organizations/{w.b.slug}"), (404,))


def _org_update(w: World) -> None:
    _refused(
        w.p1.put(f"/v1/b2b/organizations/{w.b.org_id}", json={"organization_name": "Owned"}, headers=w.as_a_admin())
    )
    _refused(w.p2.put(f"/v1/b2b/organizations/{w.b.org_id}", json={"organization_name": "Owned"}), (404,))


def _org_delete(w: World) -> None:
    _refused(w.p1.delete(f"/v1/b2b/organizations/{w.b.org_id}", headers=w.as_a_admin()))
    _refused(w.p2.delete(f"/v1/b2b/organizations/{w.b.org_id}"), (404,))


def _org_create(w: World) -> None:
    # Creating targets no existing tenant; the check is that project 2 can take B's slug in its own
    # namespace (no cross-project slug oracle) without touching B (the snapshot comparison).
    created = _ok(
        w.p2.post("/v1/b2b/organizations", json={"organization_name": "Other", "organization_slug": w.b.slug})
    )
    assert created["organization"]["organization_id"] != w.b.org_id


def _org_search(w: World) -> None:
    found = _ok(w.p2.post("/v1/b2b/organizations/search", json={}))
    ids = {o["organization_id"] for o in found["organizations"]}
    assert w.a.org_id not in ids and w.b.org_id not in ids, found


def _members_create(w: World) -> None:
    body = {"email_address": f"intruder@{w.b.slug}.example.com"}
    _refused(w.p1.post(f"/v1/b2b/organizations/{w.b.org_id}/members", json=body, headers=w.as_a_admin()))
    _refused(w.p2.post(f"/v1/b2b/organizations/{w.b.org_id}/members", json=body), (404,))


def _members_get(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/member"
    _refused(w.p2.get(url, params={"member_id": w.b.member_id}), (404,))
    _refused(w.p2.get(url, params={"email_address": w.b.member_email}), (404,))
    # B's member id under A's organization is not found either.
    _refused(w.p1.get(f"/v1/b2b/organizations/{w.a.org_id}/member", params={"member_id": w.b.member_id}), (404,))


def _members_update(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/members/{w.b.member_id}"
    _refused(w.p1.put(url, json={"name": "Owned", "roles": ["stytch_admin"]}, headers=w.as_a_admin()))
    _refused(w.p2.put(url, json={"name": "Owned"}), (404,))
    # A's admin, acting in A's own org on B's member id.
    _refused(
        w.p1.put(
            f"/v1/b2b/organizations/{w.a.org_id}/members/{w.b.member_id}",
            json={"name": "Owned"},
            headers=w.as_a_admin(),
        )
    )


def _members_delete(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/members/{w.b.member_id}"
    _refused(w.p1.delete(url, headers=w.as_a_admin()))
    _refused(w.p2.delete(url), (404,))
    _refused(w.p1.delete(f"/v1/b2b/organizations/{w.a.org_id}/members/{w.b.member_id}", headers=w.as_a_admin()))


def _members_reactivate(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/members/{w.b.member_id}/reactivate"
    _refused(w.p1.put(url, headers=w.as_a_admin()))
    _refused(w.p2.put(url), (404,))


def _members_search(w: World) -> None:
    url = "/v1/b2b/organizations/members/search"
    _refused(w.p1.post(url, json={"organization_ids": [w.b.org_id]}, headers=w.as_a_admin()))
    _refused(w.p1.post(url, json={"organization_ids": [w.a.org_id, w.b.org_id]}, headers=w.as_a_admin()))
    # Project 2: B's org id is unknown there, so nothing of B may come back.
    resp = w.p2.post(url, json={"organization_ids": [w.b.org_id]})
    if resp.status_code == 200:
        assert resp.json()["members"] == [], resp.text
    else:
        _refused(resp, (400, 404))


def _members_dangerously_get(w: World) -> None:
    _refused(w.p2.get(f"/v1/b2b/organizations/members/dangerously_get/{w.b.member_id}"), (404,))


def _rbac_org_get(w: World) -> None:
    _refused(w.p2.get(f"/v1/b2b/rbac/organizations/{w.b.org_id}"), (404,))


def _rbac_org_set(w: World) -> None:
    policy = {"org_policy": {"roles": [{"role_id": "owned", "description": "x", "permissions": []}]}}
    _refused(w.p2.put(f"/v1/b2b/rbac/organizations/{w.b.org_id}", json=policy), (404,))


def _sessions_get(w: World) -> None:
    for mid in (w.b.admin_id, w.b.member_id):
        _refused(w.p2.get("/v1/b2b/sessions", params={"organization_id": w.b.org_id, "member_id": mid}), (404,))
    # B's member id under A's organization.
    _refused(w.p1.get("/v1/b2b/sessions", params={"organization_id": w.a.org_id, "member_id": w.b.member_id}), (404,))


def _sessions_revoke(w: World) -> None:
    sessions = _ok(w.p1.get("/v1/b2b/sessions", params={"organization_id": w.b.org_id, "member_id": w.b.member_id}))
    session_id = sessions["member_sessions"][0]["member_session_id"]
    for body in ({"member_id": w.b.member_id}, {"member_session_id": session_id}, {"session_token": w.b.member_token}):
        _refused(w.p1.post("/v1/b2b/sessions/revoke", json=body, headers=w.as_a_admin()))
        _refused(w.p2.post("/v1/b2b/sessions/revoke", json=body), (404,))


def _sessions_exchange(w: World) -> None:
    body = {"organization_id": w.b.org_id, "session_token": w.a.admin_token}
    _refused(w.p1.post("/v1/b2b/sessions/exchange", json=body, headers=w.as_a_admin()), (400, 401, 403, 404))
    _refused(w.p2.post("/v1/b2b/sessions/exchange", json=body), (401, 404))


def _sessions_authenticate(w: World) -> None:
    _refused(w.p2.post("/v1/b2b/sessions/authenticate", json={"session_token": w.b.admin_token}), (401, 404))


def _jwks(w: World) -> None:
    # Public keys, unauthenticated by design; what must hold is that project 2 signs with its own.
    kids1 = {k["kid"] for k in _ok(w.p1.get(f"/v1/b2b/sessions/jwks/{w.server.project_id}"))["keys"]}
    kids2 = {k["kid"] for k in _ok(w.p2.get(f"/v1/b2b/sessions/jwks/{w.p2_project_id}"))["keys"]}
    assert kids1 and kids2 and not kids1 & kids2, (kids1, kids2)


def _discovery_list(w: World) -> None:
    found = _ok(w.p1.post("/v1/b2b/discovery/organizations", json={"session_token": w.a.admin_token}))
    ids = {d["organization"]["organization_id"] for d in found["discovered_organizations"]}
    assert ids == {w.a.org_id}, found
    _refused(w.p2.post("/v1/b2b/discovery/organizations", json={"session_token": w.a.admin_token}), (401, 404))


def _a_admin_ist(w: World) -> str:
    _ok(
        w.p1.post(
            "/v1/b2b/magic_links/email/discovery/send",
            json={"email_address": w.a.admin_email, "discovery_redirect_url": REDIRECT_URL},
        )
    )
    token = w.server.latest_link_token(w.a.admin_email, count=2)
    return _ok(w.p1.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}))[
        "intermediate_session_token"
    ]


def _discovery_create(w: World) -> None:
    ist = _a_admin_ist(w)
    body = {"intermediate_session_token": ist, "organization_name": "Other", "organization_slug": "other-p2"}
    _refused(w.p2.post("/v1/b2b/discovery/organizations/create", json=body), (401, 404))


def _ist_exchange(w: World) -> None:
    ist = _a_admin_ist(w)
    body = {"intermediate_session_token": ist, "organization_id": w.b.org_id}
    _refused(w.p2.post("/v1/b2b/discovery/intermediate_sessions/exchange", json=body), (401, 404))
    # A's admin is no member of B and B allows no JIT provisioning: no way in.
    _refused(w.p1.post("/v1/b2b/discovery/intermediate_sessions/exchange", json=body), (400, 401, 403, 404))


def _invite(w: World) -> None:
    body = {"organization_id": w.b.org_id, "email_address": f"intruder@{w.b.slug}.example.com"}
    _refused(w.p1.post("/v1/b2b/magic_links/email/invite", json=body, headers=w.as_a_admin()))
    _refused(w.p2.post("/v1/b2b/magic_links/email/invite", json=body), (404,))


def _otp_login_or_signup(w: World) -> None:
    body = {"organization_id": w.b.org_id, "email_address": w.b.member_email}
    _refused(w.p2.post("/v1/b2b/otps/email/login_or_signup", json=body), (404,))
    _refused(w.p2.post("/v1/b2b/otps/email/login_or_signup", json={**body, "organization_id": w.b.slug}), (404,))


def _otp_authenticate(w: World) -> None:
    # A live code of A's member, sent for organization A: it opens nothing in B, for project 1 or
    # project 2, yet is good in A afterwards (the refusals were not about the code itself).
    send = {"organization_id": w.a.org_id, "email_address": w.a.member_email}
    _ok(w.p1.post("/v1/b2b/otps/email/login_or_signup", json=send))
    code = latest_code(w.server, w.a.member_email, count=2)
    body = {"organization_id": w.b.org_id, "email_address": w.a.member_email, "code": code}
    _refused(w.p2.post("/v1/b2b/otps/email/authenticate", json=body), (404,))
    _refused(w.p1.post("/v1/b2b/otps/email/authenticate", json=body), (404,))
    _ok(w.p1.post("/v1/b2b/otps/email/authenticate", json={**body, "organization_id": w.a.org_id}))


def _error_type(resp: httpx.Response, allowed: tuple[int, ...]) -> str:
    _refused(resp, allowed)
    return resp.json()["error_type"]


def _sms_send(w: World) -> None:
    # The error types show the refusal came from the tenant boundary, not from B's member lacking
    # something; nothing may be linked to B's member either way (the snapshot comparison).
    body = {"organization_id": w.b.org_id, "member_id": w.b.member_id, "mfa_phone_number": "+12015550111"}
    assert _error_type(w.p2.post("/v1/b2b/otps/sms/send", json=body), (404,)) == "organization_not_found"
    with_a_token = {**body, "session_token": w.a.admin_token}
    assert _error_type(w.p1.post("/v1/b2b/otps/sms/send", json=with_a_token), (404,)) == "session_not_found"
    in_a = {**body, "organization_id": w.a.org_id}
    assert _error_type(w.p1.post("/v1/b2b/otps/sms/send", json=in_a), (404,)) == "member_not_found"


def _sms_authenticate(w: World) -> None:
    body = {"organization_id": w.b.org_id, "member_id": w.b.member_id, "code": "123456"}
    body["session_token"] = w.b.member_token
    assert _error_type(w.p2.post("/v1/b2b/otps/sms/authenticate", json=body), (404,)) == "organization_not_found"
    in_a = {**body, "organization_id": w.a.org_id}
    assert _error_type(w.p1.post("/v1/b2b/otps/sms/authenticate", json=in_a), (404,)) == "member_not_found"


def _sms_delete_phone(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/members/mfa_phone_numbers/{w.b.member_id}"
    assert _error_type(w.p1.delete(url, headers=w.as_a_admin()), (404,)) == "organization_not_found"
    assert _error_type(w.p2.delete(url), (404,)) == "organization_not_found"
    in_a = f"/v1/b2b/organizations/{w.a.org_id}/members/mfa_phone_numbers/{w.b.member_id}"
    assert _error_type(w.p1.delete(in_a, headers=w.as_a_admin()), (404,)) == "member_not_found"


def _mfa_body_routes(w: World, path: str, extra: dict[str, Any]) -> None:
    """TOTP and recovery-code routes name the organization and member in the body: another
    project finds neither, and B's member is not found under A's organization."""
    body = {"organization_id": w.b.org_id, "member_id": w.b.member_id, **extra}
    assert _error_type(w.p2.post(path, json=body), (404,)) == "organization_not_found"
    in_a = {**body, "organization_id": w.a.org_id}
    assert _error_type(w.p1.post(path, json=in_a), (404,)) == "member_not_found"


def _totp_create(w: World) -> None:
    _mfa_body_routes(w, "/v1/b2b/totp", {})
    # A's session cannot enrol B's member (and enrolling nothing changes B: the snapshot).
    body = {"organization_id": w.b.org_id, "member_id": w.b.member_id, "session_token": w.a.admin_token}
    assert _error_type(w.p1.post("/v1/b2b/totp", json=body), (404,)) == "session_not_found"


def _totp_authenticate(w: World) -> None:
    _mfa_body_routes(w, "/v1/b2b/totp/authenticate", {"code": "123456", "session_token": w.a.admin_token})


def _recovery_rotate(w: World) -> None:
    _mfa_body_routes(w, "/v1/b2b/recovery_codes/rotate", {})


def _recovery_recover(w: World) -> None:
    _mfa_body_routes(
        w, "/v1/b2b/recovery_codes/recover", {"recovery_code": "abcd-efgh-ijkl", "session_token": w.a.admin_token}
    )


def _recovery_get(w: World) -> None:
    url = f"/v1/b2b/recovery_codes/{w.b.org_id}/{w.b.member_id}"
    assert _error_type(w.p2.get(url), (404,)) == "organization_not_found"
    in_a = f"/v1/b2b/recovery_codes/{w.a.org_id}/{w.b.member_id}"
    assert _error_type(w.p1.get(in_a), (404,)) == "member_not_found"


def _totp_delete(w: World) -> None:
    url = f"/v1/b2b/organizations/{w.b.org_id}/members/{w.b.member_id}/totp"
    assert _error_type(w.p1.delete(url, headers=w.as_a_admin()), (404,)) == "organization_not_found"
    assert _error_type(w.p2.delete(url), (404,)) == "organization_not_found"
    in_a = f"/v1/b2b/organizations/{w.a.org_id}/members/{w.b.member_id}/totp"
    assert _error_type(w.p1.delete(in_a, headers=w.as_a_admin()), (404,)) == "member_not_found"


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/b2b/organizations/search"): _org_search,
    ("GET", ORG): _org_get,
    ("PUT", ORG): _org_update,
    ("DELETE", ORG): _org_delete,
    ("POST", f"{ORG}/members"): _members_create,
    ("GET", f"{ORG}/member"): _members_get,
    ("PUT", MEMBER): _members_update,
    ("DELETE", MEMBER): _members_delete,
    ("PUT", f"{MEMBER}/reactivate"): _members_reactivate,
    ("POST", "/v1/b2b/organizations/members/search"): _members_search,
    ("GET", "/v1/b2b/organizations/members/dangerously_get/{member_id}"): _members_dangerously_get,
    ("POST", "/v1/b2b/magic_links/email/invite"): _invite,
    ("GET", "/v1/b2b/sessions"): _sessions_get,
    ("POST", "/v1/b2b/sessions/revoke"): _sessions_revoke,
    ("POST", "/v1/b2b/sessions/exchange"): _sessions_exchange,
    ("POST", "/v1/b2b/sessions/authenticate"): _sessions_authenticate,
    ("GET", "/v1/b2b/sessions/jwks/{project_id}"): _jwks,
    ("GET", "/v1/b2b/rbac/organizations/{organization_id}"): _rbac_org_get,
    ("PUT", "/v1/b2b/rbac/organizations/{organization_id}"): _rbac_org_set,
    ("POST", "/v1/b2b/discovery/organizations"): _discovery_list,
    ("POST", "/v1/b2b/discovery/organizations/create"): _discovery_create,
    ("POST", "/v1/b2b/discovery/intermediate_sessions/exchange"): _ist_exchange,
    ("POST", "/v1/b2b/otps/email/login_or_signup"): _otp_login_or_signup,
    ("POST", "/v1/b2b/otps/email/authenticate"): _otp_authenticate,
    ("POST", "/v1/b2b/otps/sms/send"): _sms_send,
    ("POST", "/v1/b2b/otps/sms/authenticate"): _sms_authenticate,
    ("DELETE", "/v1/b2b/organizations/{organization_id}/members/mfa_phone_numbers/{member_id}"): _sms_delete_phone,
    ("POST", "/v1/b2b/totp"): _totp_create,
    ("POST", "/v1/b2b/totp/authenticate"): _totp_authenticate,
    ("POST", "/v1/b2b/recovery_codes/rotate"): _recovery_rotate,
    ("POST", "/v1/b2b/recovery_codes/recover"): _recovery_recover,
    ("GET", "/v1/b2b/recovery_codes/{organization_id}/{member_id}"): _recovery_get,
    ("DELETE", f"{MEMBER}/totp"): _totp_delete,
    # Last: it gives project 2 an organization with B's slug, which _org_get must not see yet.
    ("POST", "/v1/b2b/organizations"): _org_create,
}


def _route_keys() -> set[tuple[str, str]]:
    keys = set()
    for route in ROUTES:
        for method in route.methods or ():
            if method != "HEAD":
                keys.add((method, route.path))
    return keys


def test_every_scoped_route_has_an_isolation_case() -> None:
    scoped = {key for key in _route_keys() if SCOPED.search(key[1])}
    missing = scoped - set(CASES)
    assert not missing, f"routes without a tenant-isolation case: {sorted(missing)}"
    stale = set(CASES) - _route_keys()
    assert not stale, f"isolation cases for routes that no longer exist: {sorted(stale)}"


@pytest.fixture
def world(server: Any) -> Any:
    p2_id, p2_secret = server.create_project("isolation-p2")
    with (
        httpx.Client(base_url=server.base_url, auth=server.auth, timeout=30) as p1,
        httpx.Client(base_url=server.base_url, auth=(p2_id, p2_secret), timeout=30) as p2,
    ):
        a, b = _tenant(server, p1, "alpha"), _tenant(server, p1, "bravo")
        yield World(p1=p1, p2=p2, a=a, b=b, server=server, p2_project_id=p2_id)


def test_a_and_project_2_cannot_reach_b(world: World) -> None:
    before = _snapshot(world)
    failures = []
    for (method, path), case in CASES.items():
        try:
            case(world)
        except AssertionError as exc:
            failures.append(f"{method} {path}: {exc}")
    after = _snapshot(world)
    assert after == before, "organization B changed"
    # B's members still hold working sessions.
    for token in (world.b.admin_token, world.b.member_token):
        _ok(world.p1.post("/v1/b2b/sessions/authenticate", json={"session_token": token}))
    assert not failures, "\n\n".join(failures)
