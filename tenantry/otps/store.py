"""Email OTP rows: one live code per (project, email, scope), its attempts counted before any
comparison, and spent once.

issue --> live --attempt (counted, committed)--> matched --consume (conditional)--> spent
           |
           +--> dead: MAX_ATTEMPTS guesses, expiry, or a newer send for the same slot
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock
from tenantry.db.schema import email_otps
from tenantry.otps import codes, settings

DISCOVERY = "discovery"  # the scope of discovery codes; organization codes use the organization id
MAX_ATTEMPTS = 5
# Stytch's lifetime of a code: discovery_, login_ and signup_expiration_minutes.
DEFAULT_MINUTES = 10
MIN_MINUTES = 2
MAX_MINUTES = 15


@dataclass(frozen=True)
class Attempt:
    """One counted guess at the live code of a slot; ``challenge_id`` names the code guessed."""

    challenge_id: str
    matched: bool


@dataclass(frozen=True)
class SpentCode:
    purpose: str
    member_id: str | None
    link_digest: str | None


def _slot(project_id: str, email: str, scope: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        email_otps.c.project_id == project_id,
        email_otps.c.email_address == email,
        email_otps.c.scope == scope,
    )


def issue(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    email: str,
    scope: str,
    purpose: str,
    expiration_minutes: int,
    member_id: str | None = None,
    link_digest: str | None = None,
) -> str:
    """A new code for the slot; it replaces the slot's previous code (only the latest is valid)."""
    code = codes.new_code(conn, project_id=project_id, email=email)
    challenge_id = secrets.token_hex(16)
    now = clock.now()
    values: dict[str, Any] = {
        "challenge_id": challenge_id,
        "code_digest": codes.digest(settings.hmac_key(conn, clock, project_id), challenge_id, code),
        "purpose": purpose,
        "member_id": member_id,
        "link_digest": link_digest,
        "attempts": 0,
        "created_at": now,
        "expires_at": now + timedelta(minutes=expiration_minutes),
        "consumed_at": None,
    }
    replace = email_otps.update().where(_slot(project_id, email, scope)).values(**values)
    if conn.execute(replace).rowcount == 1:
        return code
    try:
        with conn.begin_nested():
            conn.execute(email_otps.insert().values(project_id=project_id, email_address=email, scope=scope, **values))
    except IntegrityError:
        # A concurrent first send inserted the slot's row a moment ago: the later send wins.
        conn.execute(replace)
    return code


def attempt(conn: Connection, clock: Clock, *, project_id: str, email: str, scope: str, code: str) -> Attempt:
    """Count one attempt, then compare.

    The count is a conditional UPDATE whose row count decides, so concurrent guesses can never
    compare more than MAX_ATTEMPTS times. The caller commits this before acting on the result:
    a wrong guess must stay counted although the request then fails.
    """
    now = clock.now()
    claimed = conn.execute(
        email_otps.update()
        .where(
            _slot(project_id, email, scope),
            email_otps.c.attempts < MAX_ATTEMPTS,
            email_otps.c.consumed_at.is_(None),
            email_otps.c.expires_at > now,
        )
        .values(attempts=email_otps.c.attempts + 1)
    )
    row = conn.execute(sa.select(email_otps).where(_slot(project_id, email, scope))).first()
    if row is None:
        raise errors.OtpCodeNotFound()
    if claimed.rowcount != 1:
        # Used, expired, superseded-and-spent, or out of attempts: this code is dead.
        raise errors.UnableToAuthOtpCode()
    key = settings.hmac_key(conn, clock, project_id)
    return Attempt(row.challenge_id, codes.matches(key, row.challenge_id, code, row.code_digest))


def consume(conn: Connection, clock: Clock, *, project_id: str, email: str, scope: str, challenge_id: str) -> SpentCode:
    """Spend the code that ``attempt`` matched, exactly once also under concurrent calls; a newer
    send since then replaced the challenge, and the old code no longer counts."""
    now = clock.now()
    result = conn.execute(
        email_otps.update()
        .where(
            _slot(project_id, email, scope),
            email_otps.c.challenge_id == challenge_id,
            email_otps.c.consumed_at.is_(None),
            email_otps.c.expires_at > now,
        )
        .values(consumed_at=now)
    )
    if result.rowcount != 1:
        raise errors.UnableToAuthOtpCode()
    row = conn.execute(sa.select(email_otps).where(_slot(project_id, email, scope))).one()
    return SpentCode(row.purpose, row.member_id, row.link_digest)


# Built once with bound parameters: every magic-link authenticate runs it.
_RETIRE_FOR_LINK = (
    email_otps.update()
    .where(email_otps.c.link_digest == sa.bindparam("p_link_digest"), email_otps.c.consumed_at.is_(None))
    .values(consumed_at=sa.bindparam("p_now", type_=email_otps.c.consumed_at.type))
)


def retire_for_link(conn: Connection, clock: Clock, *, link_digest: str) -> None:
    """The magic link mailed with a code was used: the code stops working too."""
    conn.execute(_RETIRE_FOR_LINK, {"p_link_digest": link_digest, "p_now": clock.now()})
