"""Where email links point, and where the person's click on the Continue page forwards.

Mail scanners (Safe Links, Mimecast, Proofpoint) fetch every link in a message before the person
does. So an email never links to the application with a live token: it links to Tenantry's own
Continue page, which only reads the link (``store.peek``), and only a POST from that page forwards
to the redirect URL validated when the link was sent. The token is spent later, by the
application's authenticate call, exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.magic_links import redirects
from tenantry.magic_links import store as links
from tenantry.organizations import store as organizations

PATH = "/links/continue"
DISCOVERY_TOKEN_TYPE = "discovery"
ORGANIZATION_TOKEN_TYPE = "multi_tenant_magic_links"


def token_type(purpose: str) -> str:
    return DISCOVERY_TOKEN_TYPE if purpose == "discovery" else ORGANIZATION_TOKEN_TYPE


def email_link(public_url: str, purpose: str, token: str) -> str:
    """The link put in the mail. It carries ``stytch_token_type`` and ``token`` like the
    application URL it stands for, so tools that read those parameters from a link still work."""
    query = urlencode({"stytch_token_type": token_type(purpose), "token": token})
    return f"{public_url.rstrip('/')}{PATH}?{query}"


@dataclass(frozen=True)
class Landing:
    """What the Continue page may say about a link."""

    state: Literal["ready", "spent", "unknown"]
    purpose: str = ""
    organization_name: str = ""
    redirect_url: str = ""

    @property
    def destination_origin(self) -> str:
        parts = urlsplit(self.redirect_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def destination_host(self) -> str:
        return urlsplit(self.redirect_url).netloc

    def destination(self, token: str) -> str:
        """The application URL with the token: only ever the URL stored with the link."""
        return redirects.with_token(self.redirect_url, token_type(self.purpose), token)


def inspect(conn: Connection, clock: Clock, token: str) -> Landing:
    """Read-only: used and expired links look the same (one answer, no oracle), and links sent
    before links carried their redirect URL cannot be continued here."""
    record = links.peek(conn, clock, token) if token else None
    if record is None or not record.redirect_url:
        return Landing("unknown")
    if not record.usable:
        return Landing("spent", record.purpose)
    name = ""
    if record.organization_id:
        org = organizations.get(conn, record.project_id, record.organization_id)
        name = org.name if org is not None else ""
    return Landing("ready", record.purpose, name, record.redirect_url)
