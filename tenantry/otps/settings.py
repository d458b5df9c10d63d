"""A project's email OTP settings: the HMAC key of its codes and whether magic-link mails carry
a code too. The row is created on first use; every worker reads the same key from the database."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from tenantry.clock import Clock
from tenantry.db.schema import project_otp_settings, projects

# Built once with a bound parameter: every magic-link send asks it.
_ROW = sa.select(project_otp_settings).where(project_otp_settings.c.project_id == sa.bindparam("project_id"))


def _row(conn: Connection, project_id: str) -> Row[Any] | None:
    return conn.execute(_ROW, {"project_id": project_id}).first()


def _ensure(conn: Connection, clock: Clock, project_id: str) -> Row[Any]:
    row = _row(conn, project_id)
    if row is not None:
        return row
    try:
        # Two first sends may race: the primary key keeps one key, and both then read it.
        with conn.begin_nested():
            conn.execute(
                project_otp_settings.insert().values(
                    project_id=project_id,
                    hmac_key=secrets.token_hex(32),
                    code_in_magic_link_email=False,
                    created_at=clock.now(),
                )
            )
    except IntegrityError:
        pass
    row = _row(conn, project_id)
    if row is None:
        raise LookupError(f"no project {project_id}")
    return row


def hmac_key(conn: Connection, clock: Clock, project_id: str) -> bytes:
    return bytes.fromhex(_ensure(conn, clock, project_id).hmac_key)


def code_in_magic_link_email(conn: Connection, project_id: str) -> bool:
    row = _row(conn, project_id)
    return bool(row.code_in_magic_link_email) if row is not None else False


def set_code_in_magic_link_email(conn: Connection, clock: Clock, project_id: str, enabled: bool) -> bool:
    """False when there is no such project."""
    if conn.execute(sa.select(projects.c.project_id).where(projects.c.project_id == project_id)).first() is None:
        return False
    _ensure(conn, clock, project_id)
    conn.execute(
        project_otp_settings.update()
        .where(project_otp_settings.c.project_id == project_id)
        .values(code_in_magic_link_email=enabled)
    )
    return True
