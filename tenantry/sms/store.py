r"""SMS passcode rows: one live code per member, its attempts counted before any comparison,
and spent once.

send ---> live --attempt (counted, committed)--> matched --consume (conditional)--> spent
            \--- MAX_ATTEMPTS reached, expired, or replaced by a newer send: dead
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock
from tenantry.db.schema import sms_otps
from tenantry.mfa.vault import Vault

CODE_DIGITS = 6
# Stytch: "OTP codes expire after two minutes."
CODE_MINUTES = 2
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Attempt:
    """One counted guess at a member's live code."""

    challenge_id: str
    phone_number: str
    matched: bool


def new_code(conn: Connection, *, project_id: str, phone_number: str) -> str:
    """The one place an SMS passcode is made: uniform over 000000-999999 from the CSPRNG.

    It takes the project and the number so that a test project's pinned sandbox value can
    hook in here, as it does for email codes.
    """
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def well_formed(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


def _context(challenge_id: str) -> str:
    # The per-code challenge id is mixed into the HMAC: equal codes never share a digest.
    return f"sms-otp:{challenge_id}"


def code_matches(vault: Vault, challenge_id: str, code: str, stored_digest: str) -> bool:
    """Constant-time, against the digest under every master key the vault knows (a key change
    must not strand a code sent a minute earlier); every candidate is compared, no shortcut."""
    results = [hmac.compare_digest(d, stored_digest) for d in vault.digests(code, context=_context(challenge_id))]
    return any(results)


def issue(
    conn: Connection,
    clock: Clock,
    vault: Vault,
    *,
    project_id: str,
    organization_id: str,
    member_id: str,
    phone_number: str,
    code: str,
) -> None:
    """Store ``code`` as the member's live code; any earlier code of theirs stops working."""
    challenge_id = secrets.token_hex(16)
    now = clock.now()
    values: dict[str, Any] = {
        "project_id": project_id,
        "organization_id": organization_id,
        "challenge_id": challenge_id,
        "code_digest": vault.digest(code, context=_context(challenge_id)),
        "phone_number": phone_number,
        "attempts": 0,
        "created_at": now,
        "expires_at": now + timedelta(minutes=CODE_MINUTES),
        "consumed_at": None,
    }
    replace = sms_otps.update().where(sms_otps.c.member_id == member_id).values(**values)
    if conn.execute(replace).rowcount == 1:
        return
    try:
        with conn.begin_nested():
            conn.execute(sms_otps.insert().values(member_id=member_id, **values))
    except IntegrityError:
        # A concurrent first send inserted the member's row a moment ago: the later send wins.
        conn.execute(replace)


def attempt(conn: Connection, clock: Clock, vault: Vault, *, project_id: str, member_id: str, code: str) -> Attempt:
    """Count one attempt, then compare.

    The count is a conditional UPDATE whose row count decides, so concurrent guesses can never
    compare more than MAX_ATTEMPTS times, at any isolation level. The caller commits this
    before acting on the result: a wrong guess must stay counted although the request fails.
    """
    now = clock.now()
    mine = sa.and_(sms_otps.c.member_id == member_id, sms_otps.c.project_id == project_id)
    # RETURNING hands back the very row that was counted, even if a new send replaces it next.
    counted = conn.execute(
        sms_otps.update()
        .where(
            mine,
            sms_otps.c.attempts < MAX_ATTEMPTS,
            sms_otps.c.consumed_at.is_(None),
            sms_otps.c.expires_at > now,
        )
        .values(attempts=sms_otps.c.attempts + 1)
        .returning(sms_otps.c.challenge_id, sms_otps.c.code_digest, sms_otps.c.phone_number)
    ).first()
    if counted is None:
        if conn.execute(sa.select(sms_otps.c.member_id).where(mine)).first() is None:
            raise errors.OtpCodeNotFound()
        # Used, expired, or out of attempts: this code is dead even if the guess is right.
        raise errors.UnableToAuthOtpCode()
    matched = code_matches(vault, counted.challenge_id, code, counted.code_digest)
    return Attempt(counted.challenge_id, counted.phone_number, matched)


def consume(conn: Connection, clock: Clock, *, member_id: str, challenge_id: str) -> None:
    """Spend the code ``attempt`` matched, exactly once also under concurrent calls. A newer send
    since then replaced the challenge, and the old code no longer counts."""
    now = clock.now()
    result = conn.execute(
        sms_otps.update()
        .where(
            sms_otps.c.member_id == member_id,
            sms_otps.c.challenge_id == challenge_id,
            sms_otps.c.consumed_at.is_(None),
            sms_otps.c.expires_at > now,
        )
        .values(consumed_at=now)
    )
    if result.rowcount != 1:
        raise errors.UnableToAuthOtpCode()


def retire(conn: Connection, *, member_id: str) -> None:
    """The member's number was removed: a code sent to it must not enrol it again."""
    conn.execute(sms_otps.delete().where(sms_otps.c.member_id == member_id))
