"""The Continue page: scanners fetching a link spend nothing; only the person's click forwards.

Every test runs against real servers on SQLite and PostgreSQL. Links are read from the dev
mailbox; the application's authenticate call is made with the API, as an application would.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx

from web.pages import CONTINUE_PATH, form_of, open_and_click, query_of

REDIRECT_URL = "http://localhost:3000/authenticate"
OTHER_REDIRECT_URL = "http://localhost:3000/welcome?from=mail"


def send_discovery(server: Any, email: str, api: httpx.Client | None = None) -> str:
    api = api or server.client()
    already = len(server.mailbox(email))
    sent = api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email})
    assert sent.status_code == 200, sent.text
    return server.wait_for_mail(email, count=already + 1)[0]["links"][0]


def authenticate_discovery(server: Any, token: str) -> httpx.Response:
    return server.client().post(
        "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token}
    )


def test_the_email_links_to_the_continue_page_not_to_the_application(server):
    link = send_discovery(server, "ann@clinic.com")
    assert link.startswith(f"{server.base_url}{CONTINUE_PATH}?stytch_token_type=discovery&token=")
    assert not link.startswith(REDIRECT_URL)


def test_scanner_fetches_leave_the_token_usable(server):
    link = send_discovery(server, "ann@clinic.com")
    token = query_of(link)["token"]
    with httpx.Client(timeout=30) as scanner:
        head = scanner.head(link)
        plain = scanner.get(link)
        # Safe Links follows redirects; Mimecast and friends use blank or odd user agents.
        followed = scanner.get(link, follow_redirects=True)
        blank = scanner.get(link, headers={"User-Agent": ""})
    assert head.status_code == plain.status_code == followed.status_code == blank.status_code == 200
    assert followed.url == httpx.URL(link), "the page must not redirect before the click"
    assert "Continue" in plain.text
    assert all(r.headers.get("location") is None for r in (head, plain, blank))

    # Nothing above spent anything: the application can still authenticate the token.
    authenticated = authenticate_discovery(server, token)
    assert authenticated.status_code == 200, authenticated.text
    assert authenticated.json()["email_address"] == "ann@clinic.com"


def test_the_page_is_private_uncached_and_locked_down(server):
    link = send_discovery(server, "ann@clinic.com")
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200
    headers = page.headers
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "noindex" in headers["x-robots-tag"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    csp = {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in headers["content-security-policy"].split("; ")}
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["script-src"].startswith("'sha256-")
    # The form may post to us, and its 303 may lead to the application's origin only.
    assert csp["form-action"] == "'self' http://localhost:3000"
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    cookie = SimpleCookie(headers["set-cookie"])
    (morsel,) = cookie.values()
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict" and morsel["path"] == CONTINUE_PATH
    # The token is never put anywhere but the hidden form field (and the URL it came with).
    assert page.text.count(query_of(link)["token"]) == 1


def test_the_click_forwards_to_the_redirect_url_with_the_token(server):
    link = send_discovery(server, "ann@clinic.com")
    token = query_of(link)["token"]
    answer = open_and_click(server.base_url, link)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{REDIRECT_URL}?stytch_token_type=discovery&token=")
    assert query_of(answer.headers["location"]) == {"stytch_token_type": "discovery", "token": token}
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    # The click itself spends nothing either: the application's authenticate call does.
    assert authenticate_discovery(server, token).status_code == 200


def test_a_post_without_the_csrf_field_is_refused_and_spends_nothing(server):
    link = send_discovery(server, "ann@clinic.com")
    token = query_of(link)["token"]
    other = query_of(send_discovery(server, "bob@clinic.com"))["token"]
    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        page = browser.get(link)
        action, fields = form_of(page.text)
        assert set(fields) == {"token", "csrf"}
        refused = [
            browser.post(action, data={"token": token}),  # no field
            browser.post(action, data={"token": token, "csrf": "0" * 64}),  # a made-up field
            browser.post(action, data={"token": other, "csrf": fields["csrf"]}),  # another link's field
            browser.post(action, data=fields, headers={"Sec-Fetch-Site": "cross-site"}),
        ]
    # Without the cookie (a cross-site form: SameSite=Strict keeps it home) the field is useless.
    refused.append(httpx.post(f"{server.base_url}{action}", data=fields, timeout=30))
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert "location" not in answer.headers
        assert "Open the link from your email again" in answer.text
    assert authenticate_discovery(server, token).status_code == 200
    assert authenticate_discovery(server, other).status_code == 200


def test_used_expired_and_unknown_links_get_a_clear_page(server):
    link = send_discovery(server, "ann@clinic.com")
    token = query_of(link)["token"]
    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        action, fields = form_of(browser.get(link).text)
        assert authenticate_discovery(server, token).status_code == 200
        used = browser.get(link)
        late_click = browser.post(action, data=fields)
    assert used.status_code == 410 and "expired or was already used" in used.text
    assert late_click.status_code == 410 and "location" not in late_click.headers
    assert used.headers["cache-control"] == "no-store"

    unknown = httpx.get(f"{server.base_url}{CONTINUE_PATH}?token=not-a-token", timeout=30)
    missing = httpx.get(f"{server.base_url}{CONTINUE_PATH}", timeout=30)
    assert unknown.status_code == missing.status_code == 404
    assert "cannot be used" in unknown.text and "cannot be used" in missing.text
    assert "set-cookie" not in unknown.headers


def test_an_expired_link_gets_the_same_clear_page(server):
    link = send_discovery(server, "ann@clinic.com")
    _expire_links(server.database_url)
    page = httpx.get(link, timeout=30)
    assert page.status_code == 410 and "expired or was already used" in page.text


def _expire_links(database_url: str) -> None:
    import sqlalchemy as sa

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE magic_links SET expires_at = created_at"))
    finally:
        engine.dispose()


def test_login_signup_and_invite_links_forward_to_the_url_validated_at_send(server):
    project_id, secret = server.create_project("Two URLs", redirect_urls=[REDIRECT_URL, OTHER_REDIRECT_URL])
    api = server.client(auth=(project_id, secret))
    org = api.post(
        "/v1/b2b/organizations",
        json={
            "organization_name": "Clinic",
            "organization_slug": "clinic",
            "email_allowed_domains": ["clinic.com"],
            "email_jit_provisioning": "RESTRICTED",
            "email_invites": "ALL_ALLOWED",
        },
    )
    assert org.status_code == 200, org.text
    org_id = org.json()["organization"]["organization_id"]

    invited = api.post(
        "/v1/b2b/magic_links/email/invite",
        json={"organization_id": org_id, "email_address": "inv@clinic.com", "invite_redirect_url": OTHER_REDIRECT_URL},
    )
    assert invited.status_code == 200, invited.text
    link = server.wait_for_mail("inv@clinic.com")[0]["links"][0]
    assert link.startswith(f"{server.base_url}{CONTINUE_PATH}?stytch_token_type=multi_tenant_magic_links&token=")
    token = query_of(link)["token"]
    answer = open_and_click(server.base_url, link)
    assert answer.status_code == 303
    location = answer.headers["location"]
    # The application's own query string is kept; the token parameters are added to it.
    assert location.startswith("http://localhost:3000/welcome?from=mail&stytch_token_type=multi_tenant_magic_links")
    assert query_of(location)["token"] == token
    done = api.post("/v1/b2b/magic_links/authenticate", json={"magic_links_token": token})
    assert done.status_code == 200, done.text

    # The invitee is now active: login_or_signup sends a login link; a stranger gets a signup one.
    for email, url in (("inv@clinic.com", REDIRECT_URL), ("new@clinic.com", OTHER_REDIRECT_URL)):
        sent = api.post(
            "/v1/b2b/magic_links/email/login_or_signup",
            json={
                "organization_id": org_id,
                "email_address": email,
                "login_redirect_url": REDIRECT_URL,
                "signup_redirect_url": OTHER_REDIRECT_URL,
            },
        )
        assert sent.status_code == 200, sent.text
        link = server.wait_for_mail(email, count=2 if email == "inv@clinic.com" else 1)[0]["links"][0]
        answer = open_and_click(server.base_url, link)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(url.split("?")[0])
        token = query_of(link)["token"]
        assert query_of(answer.headers["location"])["token"] == token


def test_a_page_from_one_server_is_accepted_by_another_on_the_same_database(server_factory):
    """The CSRF key lives in the database: behind a load balancer the click may reach any worker."""
    first = server_factory()
    link = send_discovery(first, "ann@clinic.com")
    # Started after the mail arrived: servers on one database share the outbox, and the second
    # one's mail would otherwise land in its own dev mailbox.
    second = server_factory()
    with httpx.Client(timeout=30) as browser:
        page = browser.get(link)
        action, fields = form_of(page.text)
        answer = browser.post(f"{second.base_url}{action}", data=fields)
    assert answer.status_code == 303, answer.text
    assert query_of(answer.headers["location"])["token"] == query_of(link)["token"]
