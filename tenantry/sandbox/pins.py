"""Codes and tokens an operator fixed for chosen addresses of a test project.

A workflow that takes a code as input (an end-to-end suite, a CI job) can then run unattended:
``tenantry projects sandbox pin --project P --email E --otp-code 123456`` makes every email OTP
sent to E in P carry 123456, and ``--magic-link-token T`` makes every magic link sent to E carry
T. Each issue is still a normal, single-use, expiring code or link; only its value is fixed.

Pins are kept as given rather than hashed, because the mail to the pinned address must carry the
very value the operator chose. They exist only in test projects: pinning in a live project is
refused and ``pinned`` never answers for one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors, tokens
from tenantry.clock import Clock
from tenantry.db.schema import magic_links, sandbox_pins
from tenantry.ids import environment_of
from tenantry.members.emails import normalise_email
from tenantry.projects.service import Project
from tenantry.sandbox import values

EMAIL_OTP = "email_otp"
MAGIC_LINK = "magic_link"
KINDS = (EMAIL_OTP, MAGIC_LINK)

OTP_CODE_RE = re.compile(r"^[0-9]{6}$")
# URL-safe, so the token travels in a link unescaped, and long enough not to be guessed by chance.
MAGIC_LINK_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{24,120}={0,2}$")


class PinRefused(ValueError):
    """A pin the operator asked for that cannot be made; the message says why."""


@dataclass(frozen=True)
class Pin:
    project_id: str
    email_address: str
    kind: str
    value: str
    created_at: datetime


def _check_value(kind: str, value: str) -> None:
    if kind == EMAIL_OTP and not OTP_CODE_RE.fullmatch(value):
        raise PinRefused("An email OTP code is six digits, like the codes Tenantry sends.")
    if kind == MAGIC_LINK:
        if not MAGIC_LINK_TOKEN_RE.fullmatch(value):
            raise PinRefused("A magic-link token is 24 to 120 characters of A-Z a-z 0-9 - _ (optionally = padded).")
        if value in (values.TOKEN_SUCCESS, values.TOKEN_UNABLE_TO_AUTH, values.TOKEN_NOT_FOUND):
            raise PinRefused("That token is one of Stytch's sandbox tokens, which already have a fixed meaning.")


def _email(raw: str) -> str:
    try:
        return normalise_email(raw)
    except errors.InvalidEmail as exc:
        raise PinRefused(exc.message) from None


def pin(conn: Connection, clock: Clock, *, project: Project, email: str, kind: str, value: str) -> Pin:
    """Fix ``value`` for ``email`` in ``project``, replacing an earlier pin of the same kind."""
    if not project.is_test:
        raise PinRefused(f"{project.project_id} is a live project: sandbox pins exist only in test projects.")
    if kind not in KINDS:
        raise PinRefused(f"kind must be one of {', '.join(KINDS)}")
    _check_value(kind, value)
    address = _email(email)
    if address == values.SANDBOX_EMAIL:
        raise PinRefused(f"{values.SANDBOX_EMAIL} already behaves as Stytch's sandbox address; pin another one.")
    if kind == MAGIC_LINK:
        # Pinned tokens are magic_links primary keys (their digest is), which are server-wide.
        holder = conn.execute(
            sa.select(magic_links.c.project_id).where(magic_links.c.token_digest == tokens.digest(value))
        ).scalar()
        if holder is not None and holder != project.project_id:
            raise PinRefused("That magic-link token is in use in another project; choose another one.")
    conn.execute(
        sandbox_pins.delete().where(
            sandbox_pins.c.project_id == project.project_id,
            sandbox_pins.c.email_address == address,
            sandbox_pins.c.kind == kind,
        )
    )
    created = Pin(project.project_id, address, kind, value, clock.now())
    try:
        with conn.begin_nested():
            conn.execute(
                sandbox_pins.insert().values(
                    project_id=created.project_id,
                    email_address=created.email_address,
                    kind=created.kind,
                    value=created.value,
                    created_at=created.created_at,
                )
            )
    except IntegrityError:
        raise PinRefused("That magic-link token is already pinned for another address; choose another one.") from None
    return created


def unpin(conn: Connection, *, project_id: str, email: str, kind: str | None = None) -> int:
    """Remove the pins of ``email`` (of one kind, or all); returns how many there were."""
    query = sandbox_pins.delete().where(
        sandbox_pins.c.project_id == project_id, sandbox_pins.c.email_address == _email(email)
    )
    if kind is not None:
        query = query.where(sandbox_pins.c.kind == kind)
    return conn.execute(query).rowcount


def list_pins(conn: Connection, *, project_id: str | None = None) -> list[Pin]:
    query = sa.select(sandbox_pins).order_by(
        sandbox_pins.c.project_id, sandbox_pins.c.email_address, sandbox_pins.c.kind
    )
    if project_id is not None:
        query = query.where(sandbox_pins.c.project_id == project_id)
    return [Pin(r.project_id, r.email_address, r.kind, r.value, r.created_at) for r in conn.execute(query)]


# Built once with bound parameters: every magic link and code sent in a test project asks it.
_PINNED = sa.select(sandbox_pins.c.value).where(
    sandbox_pins.c.project_id == sa.bindparam("project_id"),
    sandbox_pins.c.email_address == sa.bindparam("email"),
    sandbox_pins.c.kind == sa.bindparam("kind"),
)


def pinned(conn: Connection, *, project_id: str, email: str, kind: str) -> str | None:
    """The value to issue to ``email`` (already normalised) instead of a random one, if pinned."""
    if environment_of(project_id) != "test":
        return None
    return conn.execute(_PINNED, {"project_id": project_id, "email": email, "kind": kind}).scalar()


def pinned_otp_code(conn: Connection, *, project_id: str, email: str) -> str | None:
    return pinned(conn, project_id=project_id, email=email, kind=EMAIL_OTP)


def pinned_magic_link_token(
    conn: Connection, *, project_id: str, email: str, project_has_pins: bool | None = None
) -> str | None:
    """``project_has_pins``: what the request's project lookup read in this transaction
    (``Project.has_sandbox_pins``); False spares the lookup, None asks."""
    if project_has_pins is False:
        return None
    return pinned(conn, project_id=project_id, email=email, kind=MAGIC_LINK)
