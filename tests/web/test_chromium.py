"""A person in Chromium: dev mailbox -> link -> Continue page -> click -> the application.

Chromium is Debian's package under Playwright (see conftest.py). Before the person clicks, a mail
scanner fetches the link (HEAD, GET, GET following redirects); the token must survive all of it
and then authenticate through the API. Runs on SQLite and PostgreSQL; screenshots of each step go
to the test artifacts directory.
"""

from __future__ import annotations

import httpx

from web.pages import CONTINUE_PATH, query_of

EMAIL = "nurse@clinic.com"


def test_a_person_clicks_through_after_a_scanner_fetched_the_link(server, chromium, app_site, artifacts_dir):
    project_id, secret = server.create_project("App", redirect_urls=[app_site.redirect_url])
    api = server.client(auth=(project_id, secret))
    sent = api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": EMAIL})
    assert sent.status_code == 200, sent.text
    link = server.wait_for_mail(EMAIL)[0]["links"][0]
    assert link.startswith(f"{server.base_url}{CONTINUE_PATH}?")
    token = query_of(link)["token"]

    # The scanner gets there first.
    with httpx.Client(timeout=30, headers={"User-Agent": ""}) as scanner:
        assert scanner.head(link).status_code == 200
        assert scanner.get(link).status_code == 200
        assert scanner.get(link, follow_redirects=True).status_code == 200
    assert app_site.requests == [], "the scanner must not have reached the application"

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/dev/mailbox?to={EMAIL}")
        page.screenshot(path=artifacts_dir / "1-dev-mailbox.png", full_page=True)
        page.locator(f'a[href^="{server.base_url}{CONTINUE_PATH}"]').first.click()
        page.wait_for_url(f"{server.base_url}{CONTINUE_PATH}*")
        continue_button = page.get_by_role("button", name="Continue")
        continue_button.wait_for()
        page.screenshot(path=artifacts_dir / "2-continue-page.png", full_page=True)
        # The hashed inline script took the token out of the address bar (and the history).
        assert page.evaluate("location.search") == ""
        assert app_site.requests == []

        continue_button.click()
        page.wait_for_url(f"{app_site.redirect_url}*")
        page.get_by_text("Application received the link").wait_for()
        page.screenshot(path=artifacts_dir / "3-application.png", full_page=True)
        arrived = query_of(page.url)
        page_path = page.url.removeprefix(app_site.origin)
    finally:
        context.close()

    assert arrived == {"stytch_token_type": "discovery", "token": token}
    assert [r for r in app_site.requests if r.startswith("/authenticate")] == [page_path]
    authenticated = api.post(
        "/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": arrived["token"]}
    )
    assert authenticated.status_code == 200, authenticated.text
    assert authenticated.json()["email_address"] == EMAIL


def test_the_page_works_without_javascript_and_says_when_a_link_is_spent(server, chromium, app_site, artifacts_dir):
    project_id, secret = server.create_project("App", redirect_urls=[app_site.redirect_url])
    api = server.client(auth=(project_id, secret))
    assert api.post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": EMAIL}).status_code == 200
    link = server.wait_for_mail(EMAIL)[0]["links"][0]

    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{app_site.redirect_url}*")
        token = query_of(page.url)["token"]
        used = api.post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token})
        assert used.status_code == 200, used.text

        response = page.goto(link)
        assert response is not None and response.status == 410
        page.get_by_text("This link has expired or was already used").wait_for()
        page.screenshot(path=artifacts_dir / "spent-link.png", full_page=True)
        assert page.get_by_role("button", name="Continue").count() == 0
    finally:
        context.close()
