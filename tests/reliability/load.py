"""A concurrent onboarding load against a running server, and a ledger of what it was told.

Each client thread runs the clinic onboarding journey over and over, each time with new people:
discovery send -> (mail) -> discovery authenticate -> discovery organizations create (the founder
becomes the organization's admin) -> invite two staff -> (mail) -> each accepts -> the admin
removes one of them -> a login link is mailed to the admin. A journey stops at the first answer
that is not a 200 (a refused connection, a 503 while the database is down, ...) and the thread
starts a new one; every 200 is written to the ledger, so a test can check afterwards that what
the server acknowledged is really there.

Mail is read straight from the dev mailbox's Maildir: polling the server's mailbox API would
load the server under test, and while a worker is down its answers are not the point.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT_URL = "http://localhost:3000/authenticate"
# Rate limits would turn a load from one address into 429s; they have their own tests.
LOAD_ENV = {"TENANTRY_RATE_LIMITS_ENABLED": "false"}
MAIL_TIMEOUT = 30.0


# -- the dev mailbox, read from disk ------------------------------------------------------------


class Maildir:
    """The dev mailbox's ``new/`` directory: one file per Message-ID (a redelivery replaces its
    file), parsed once each."""

    def __init__(self, directory: Path) -> None:
        self.new = directory / "new"
        self._seen: dict[str, tuple[int, str, str]] = {}  # name -> (mtime_ns, recipient, first link)
        self._lock = threading.Lock()

    def _scan(self) -> None:
        try:
            names = [p.name for p in self.new.iterdir()]
        except FileNotFoundError:
            return
        for name in names:
            if name in self._seen:
                continue
            path = self.new / name
            try:
                with path.open("rb") as fh:
                    message = BytesParser(policy=default_policy).parse(fh)
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue  # being replaced right now; the next scan sees it
            recipients = [addr.lower() for _, addr in getaddresses([str(message.get("To", ""))])]
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            link = next((w for w in text.split() if w.startswith("http") and "token=" in w), "")
            self._seen[name] = (mtime, recipients[0] if recipients else "", link)

    def count(self) -> int:
        with self._lock:
            self._scan()
            return len(self._seen)

    def names(self) -> set[str]:
        with self._lock:
            self._scan()
            return set(self._seen)

    def links(self, to: str) -> list[str]:
        """Links of the mails to ``to``, oldest first."""
        with self._lock:
            self._scan()
            found = sorted((m, link) for m, rcpt, link in self._seen.values() if rcpt == to.lower())
        return [link for _, link in found]

    def wait_token(self, to: str, count: int, timeout: float = MAIL_TIMEOUT) -> str:
        """The token of the ``count``-th mail to ``to`` once it has arrived."""
        deadline = time.monotonic() + timeout
        while True:
            links = self.links(to)
            if len(links) >= count:
                return parse_qs(urlsplit(links[count - 1]).query)["token"][0]
            if time.monotonic() > deadline:
                raise MailNotDelivered(f"mail #{count} to {to} not delivered within {timeout}s")
            time.sleep(0.05)


class MailNotDelivered(AssertionError):
    pass


# -- what the load saw ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One request: when it started and ended (monotonic), and what came back."""

    method: str
    path: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    body: dict[str, Any] | None
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Ledger:
    """Everything the server acknowledged with a 200, and every answer."""

    # slug -> founder email, written before the create request is sent (its fate may be unknown)
    slug_founders: dict[str, str] = field(default_factory=dict)
    # organizations the server confirmed: (organization_id, slug, founder, admin member id, admin session)
    organizations: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # invitations the server confirmed: (organization_id, member_id, email)
    invited: list[tuple[str, str, str]] = field(default_factory=list)
    # accepted invitations: (organization_id, member_id, session_token)
    accepted: list[tuple[str, str, str]] = field(default_factory=list)
    # members whose deletion the server confirmed: (organization_id, member_id)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    # mails the server promised (a 200 from a send), per recipient
    mails: Counter[str] = field(default_factory=Counter)
    answers: list[Answer] = field(default_factory=list)
    journeys_done: list[float] = field(default_factory=list)  # monotonic end times
    mail_failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, item: Any) -> None:
        with self.lock:
            getattr(self, name).append(item)


class Abandon(Exception):
    """The journey cannot go on: the answer was not a 200."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.method} {answer.path} -> {answer.status} {answer.error or answer.body}")
        self.answer = answer


class Api:
    """A keep-alive HTTP client that writes every answer to the ledger."""

    def __init__(self, base_url: str, auth: tuple[str, str], ledger: Ledger, timeout: float = 20) -> None:
        self.base_url, self.auth, self.timeout = base_url, auth, timeout
        self.ledger = ledger
        self.http = self._client()

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=self.auth, timeout=self.timeout)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        started = time.monotonic()
        try:
            resp = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            answer = Answer(method, path, started, time.monotonic(), None, None, f"{type(exc).__name__}: {exc}")
            # The connection may be dead (its worker was killed): start the next one afresh.
            self.http.close()
            self.http = self._client()
        else:
            try:
                data = resp.json()
            except ValueError:
                data = {"unparsed": resp.text[:500]}
            answer = Answer(method, path, started, time.monotonic(), resp.status_code, data)
        self.ledger.add("answers", answer)
        if answer.status != 200:
            raise Abandon(answer)
        assert answer.body is not None
        return answer.body

    def close(self) -> None:
        self.http.close()


# -- the journey ---------------------------------------------------------------------------------

_journey_numbers = itertools.count()


def onboarding_journey(api: Api, mailbox: Maildir, ledger: Ledger, tag: str) -> None:
    n = next(_journey_numbers)
    domain = f"{tag}-{n}.example.com"
    founder, staff = f"founder@{domain}", [f"nurse@{domain}", f"doctor@{domain}"]

    api.call("POST", "/v1/b2b/magic_links/email/discovery/send",
             {"email_address": founder, "discovery_redirect_url": REDIRECT_URL})  # fmt: skip
    _mail(ledger, founder)
    token = _token(mailbox, ledger, founder, 1)
    ist = api.call("POST", "/v1/b2b/magic_links/discovery/authenticate", {"discovery_magic_links_token": token})[
        "intermediate_session_token"
    ]
    slug = f"{tag}-{n}"
    with ledger.lock:
        ledger.slug_founders[slug] = founder
    created = api.call(
        "POST",
        "/v1/b2b/discovery/organizations/create",
        {"intermediate_session_token": ist, "organization_name": f"Clinic {tag} {n}", "organization_slug": slug},
    )
    org_id = created["organization"]["organization_id"]
    ledger.add("organizations", (org_id, slug, founder, created["member_id"], created["session_token"]))

    member_ids = []
    for email in staff:
        invited = api.call(
            "POST", "/v1/b2b/magic_links/email/invite", {"organization_id": org_id, "email_address": email}
        )
        member_ids.append(invited["member_id"])
        ledger.add("invited", (org_id, invited["member_id"], email))
        _mail(ledger, email)
    for email, member_id in zip(staff, member_ids, strict=True):
        token = _token(mailbox, ledger, email, 1)
        accepted = api.call("POST", "/v1/b2b/magic_links/authenticate", {"magic_links_token": token})
        assert accepted["member_id"] == member_id, accepted
        ledger.add("accepted", (org_id, member_id, accepted["session_token"]))

    api.call("DELETE", f"/v1/b2b/organizations/{org_id}/members/{member_ids[0]}")
    ledger.add("deleted", (org_id, member_ids[0]))
    api.call("POST", "/v1/b2b/magic_links/email/login_or_signup", {"organization_id": org_id, "email_address": founder})
    _mail(ledger, founder)
    ledger.add("journeys_done", time.monotonic())


def _mail(ledger: Ledger, to: str) -> None:
    with ledger.lock:
        ledger.mails[to] += 1


def _token(mailbox: Maildir, ledger: Ledger, to: str, count: int) -> str:
    try:
        return mailbox.wait_token(to, count)
    except MailNotDelivered as exc:
        ledger.add("mail_failures", str(exc))
        raise


class Load:
    """``clients`` threads running journeys until ``stop()``."""

    def __init__(self, server: Any, *, clients: int, tag: str, pause_after_failure: float = 0.1) -> None:
        self.server = server
        self.clients = clients
        self.tag = tag
        self.pause = pause_after_failure
        self.ledger = Ledger()
        self.mailbox = Maildir(server.mailbox_dir)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.crashes: list[BaseException] = []

    def start(self) -> Load:
        for i in range(self.clients):
            thread = threading.Thread(target=self._run, args=(f"{self.tag}{i}",), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, tag: str) -> None:
        api = Api(self.server.base_url, self.server.auth, self.ledger)
        try:
            while not self._stop.is_set():
                try:
                    onboarding_journey(api, self.mailbox, self.ledger, tag)
                except (Abandon, MailNotDelivered):
                    self._stop.wait(self.pause)
        except BaseException as exc:  # an assertion in the journey: reported by stop()
            self.crashes.append(exc)
        finally:
            api.close()

    def wait_journeys(self, count: int, *, after: float = 0.0, timeout: float) -> bool:
        """Wait until ``count`` journeys ended after monotonic time ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.ledger.lock:
                done = sum(1 for t in self.ledger.journeys_done if t > after)
            if done >= count or self.crashes:
                return done >= count
            time.sleep(0.1)
        return False

    def stop(self) -> Ledger:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self._threads), "load threads still running after 60 s"
        assert not self.crashes, f"a journey failed an assertion: {self.crashes[0]!r}"
        return self.ledger


def statuses(answers: list[Answer]) -> Counter[int | None]:
    return Counter(a.status for a in answers)
