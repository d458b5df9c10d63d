"""Reading the Continue page the way a browser would: its form fields and its cookie."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import httpx

CONTINUE_PATH = "/links/continue"


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        if tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values.get("value", "")


def form_of(html: str) -> tuple[str, dict[str, str]]:
    parser = _Form()
    parser.feed(html)
    return parser.action, parser.fields


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def open_and_click(base_url: str, link: str) -> httpx.Response:
    """What the person does: open the link, press Continue. Returns the POST's answer."""
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        action, fields = form_of(page.text)
        return browser.post(action, data=fields)
