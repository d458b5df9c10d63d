"""Who a project's mail comes from: its own sender name and address where the operator set them,
otherwise ``TENANTRY_MAIL_FROM``. Set with ``tenantry projects update --mail-from-name/--mail-from-address``."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry.db.schema import projects
from tenantry.email.dkim_keys import valid_dns_name

MAX_NAME_LENGTH = 200
# RFC 5322 dot-atom: no quoted local parts, no comments, nothing that needs escaping in a header.
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@dataclass(frozen=True)
class ProjectSender:
    """The project's own choice; ``None`` parts fall back to ``TENANTRY_MAIL_FROM``."""

    name: str | None = None
    address: str | None = None


# Built once with a bound parameter: every queued mail reads it.
_GET = sa.select(projects.c.mail_from_name, projects.c.mail_from_address).where(
    projects.c.project_id == sa.bindparam("project_id")
)


def get(conn: Connection, project_id: str) -> ProjectSender:
    row = conn.execute(_GET, {"project_id": project_id}).first()
    if row is None:
        return ProjectSender()
    return ProjectSender(row.mail_from_name, row.mail_from_address)


def update(conn: Connection, project_id: str, *, name: str | None, address: str | None) -> bool:
    """Set the sender; an empty string clears that part back to the default. False if no project."""
    values: dict[str, str | None] = {}
    if name is not None:
        values["mail_from_name"] = clean_name(name) or None
    if address is not None:
        values["mail_from_address"] = clean_address(address) if address.strip() else None
    if not values:
        return (
            conn.execute(sa.select(projects.c.project_id).where(projects.c.project_id == project_id)).first()
            is not None
        )
    result = conn.execute(projects.update().where(projects.c.project_id == project_id).values(**values))
    return result.rowcount == 1


def clean_name(name: str) -> str:
    # A display name goes into the From header: control characters (CR, LF) would break it open.
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("The sender name must not contain control characters or line breaks.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"The sender name may be at most {MAX_NAME_LENGTH} characters.")
    return name


def clean_address(address: str) -> str:
    # Syntax only: test domains (.test, .localhost) are fine for a sender in development, and
    # whether the domain really sends mail is what SPF/DKIM/DMARC (``tenantry mail dns``) settle.
    address = address.strip()
    local, _, domain = address.rpartition("@")
    if len(address) > 254 or len(local) > 64 or not _LOCAL_PART.fullmatch(local) or not valid_dns_name(domain):
        raise ValueError(f"The sender address {address!r} is not a plain address such as no-reply@example.com.")
    return f"{local}@{domain.lower()}"


def from_header(name: str | None, address: str | None, default: str) -> str:
    """The From header: the stored parts, each missing one taken from ``default`` ("Name <addr>")."""
    default_name, default_address = parseaddr(default)
    return str(Address(display_name=name or default_name, addr_spec=address or default_address))


def domain_of(header: str) -> str:
    address = parseaddr(header)[1]
    return address.rsplit("@", 1)[-1].lower() if "@" in address else ""
