"""A short lease per clinic around role changes and removals.

The last-owner rule reads the member list, then changes a member through Stytch. Two owners
demoting each other at the same moment would both see two owners and both succeed; the lease
makes such changes take turns. It is a row in ``portal_team_locks`` rather than a database lock
held open, because the transaction would have to span HTTP calls to the API (which, on SQLite,
writes to the same file and would wait for us forever). A lease left by a dead worker expires.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from tenantry.db.engine import write_transaction
from tenantry.db.schema import portal_team_locks as locks

LEASE_SECONDS = 30
WAIT_SECONDS = 10.0


class Busy(Exception):
    """Another change to this clinic's team is still running."""


def _try_acquire(engine: Engine, organization_id: str, holder: str) -> bool:
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        conn.execute(locks.delete().where(locks.c.organization_id == organization_id, locks.c.expires_at < now))
        try:
            with conn.begin_nested():
                conn.execute(
                    locks.insert().values(
                        organization_id=organization_id,
                        holder=holder,
                        expires_at=now + timedelta(seconds=LEASE_SECONDS),
                    )
                )
        except sa.exc.IntegrityError:
            return False
    return True


def _release(engine: Engine, organization_id: str, holder: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(locks.delete().where(locks.c.organization_id == organization_id, locks.c.holder == holder))


@asynccontextmanager
async def team_lease(engine: Engine, organization_id: str) -> AsyncIterator[None]:
    holder = secrets.token_hex(16)
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await run_in_threadpool(_try_acquire, engine, organization_id, holder):
        if asyncio.get_running_loop().time() > deadline:
            raise Busy()
        await asyncio.sleep(0.1)
    try:
        yield
    finally:
        await run_in_threadpool(_release, engine, organization_id, holder)
