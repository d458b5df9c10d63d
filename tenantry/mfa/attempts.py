"""Attempt limits for second factors: at most five tries per member and factor in a window.

An attempt is counted *before* the code is compared, in its own committed transaction (see
``tenantry.api.mfa``): a wrong code answers with an error, which rolls the request's transaction
back, and the count must survive that. A success resets the count. The conditional UPDATE's row
count decides, so concurrent guesses cannot slip past the limit.

A TOTP code has a million values and three of them are valid at any moment (±1 step), so five
tries per fifteen minutes keep guessing hopeless; recovery codes are far longer and get the same
limit for uniformity.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock
from tenantry.db.schema import mfa_attempts

MAX_ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
TOTP = "totp"
RECOVERY_CODES = "recovery_codes"


def count_attempt(conn: Connection, clock: Clock, *, member_id: str, factor: str) -> None:
    """Spend one attempt, or refuse with 429 when the window's attempts are used up."""
    now = clock.now()
    try:
        with conn.begin_nested():
            conn.execute(
                mfa_attempts.insert().values(
                    member_id=member_id, factor=factor, failures=0, window_ends_at=now + WINDOW
                )
            )
    except IntegrityError:
        pass  # the member's row exists already (or a concurrent request just made it)
    expired = mfa_attempts.c.window_ends_at <= now
    result = conn.execute(
        mfa_attempts.update()
        .where(
            mfa_attempts.c.member_id == member_id,
            mfa_attempts.c.factor == factor,
            sa.or_(mfa_attempts.c.failures < MAX_ATTEMPTS, expired),
        )
        .values(
            failures=sa.case((expired, 1), else_=mfa_attempts.c.failures + 1),
            window_ends_at=sa.case((expired, now + WINDOW), else_=mfa_attempts.c.window_ends_at),
        )
    )
    if result.rowcount != 1:
        minutes = int(WINDOW.total_seconds() // 60)
        raise errors.TooManyRequests(f"Too many failed {factor} attempts for this member; retry in {minutes} minutes.")


def reset(conn: Connection, *, member_id: str, factor: str) -> None:
    conn.execute(
        mfa_attempts.update()
        .where(mfa_attempts.c.member_id == member_id, mfa_attempts.c.factor == factor)
        .values(failures=0)
    )
