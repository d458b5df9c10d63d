"""Rows of TOTP registrations and recovery codes. Secrets arrive and leave sealed or digested:
this module never sees a plaintext TOTP secret or recovery code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from tenantry.clock import as_utc
from tenantry.db.schema import members, recovery_codes, totp_registrations

# -- TOTP registrations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpRegistration:
    totp_registration_id: str
    project_id: str
    organization_id: str
    member_id: str
    secret_ciphertext: str
    verified: bool
    created_at: datetime
    expires_at: datetime
    last_used_step: int | None


def _registration(row: Row[Any]) -> TotpRegistration:
    return TotpRegistration(
        totp_registration_id=row.totp_registration_id,
        project_id=row.project_id,
        organization_id=row.organization_id,
        member_id=row.member_id,
        secret_ciphertext=row.secret_ciphertext,
        verified=bool(row.verified),
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        last_used_step=row.last_used_step,
    )


def insert_registration(conn: Connection, registration: TotpRegistration) -> None:
    conn.execute(
        totp_registrations.insert().values(
            totp_registration_id=registration.totp_registration_id,
            project_id=registration.project_id,
            organization_id=registration.organization_id,
            member_id=registration.member_id,
            secret_ciphertext=registration.secret_ciphertext,
            verified=registration.verified,
            created_at=registration.created_at,
            expires_at=registration.expires_at,
            last_used_step=registration.last_used_step,
        )
    )


def usable_registration(conn: Connection, member_id: str, active_id: str, now: datetime) -> TotpRegistration | None:
    """The member's active registration, else their newest unverified one that has not expired."""
    table = totp_registrations
    if active_id:
        row = conn.execute(
            sa.select(table).where(table.c.member_id == member_id, table.c.totp_registration_id == active_id)
        ).first()
        return _registration(row) if row else None
    row = conn.execute(
        sa.select(table)
        .where(table.c.member_id == member_id, table.c.verified.is_(False), table.c.expires_at > now)
        .order_by(table.c.created_at.desc(), table.c.totp_registration_id)
        .limit(1)
    ).first()
    return _registration(row) if row else None


def delete_unverified(conn: Connection, member_id: str) -> None:
    conn.execute(
        totp_registrations.delete().where(
            totp_registrations.c.member_id == member_id, totp_registrations.c.verified.is_(False)
        )
    )


def delete_registrations(conn: Connection, member_id: str) -> int:
    return conn.execute(totp_registrations.delete().where(totp_registrations.c.member_id == member_id)).rowcount


def use_step(conn: Connection, registration_id: str, step: int) -> bool:
    """Record that the code of time step ``step`` was accepted. False when that step, or a later
    one, was accepted already: a code works once, and never after a newer one."""
    table = totp_registrations
    result = conn.execute(
        table.update()
        .where(
            table.c.totp_registration_id == registration_id,
            sa.or_(table.c.last_used_step.is_(None), table.c.last_used_step < step),
        )
        .values(last_used_step=step)
    )
    return result.rowcount == 1


def activate(conn: Connection, registration: TotpRegistration, when: datetime) -> bool:
    """Make a verified registration the member's one active TOTP. False when the member got
    another active registration meanwhile (the conditional update decides the race)."""
    claimed = conn.execute(
        members.update()
        .where(members.c.member_id == registration.member_id, members.c.totp_registration_id == "")
        .values(totp_registration_id=registration.totp_registration_id, updated_at=when)
    )
    if claimed.rowcount != 1:
        return False
    conn.execute(
        totp_registrations.update()
        .where(totp_registrations.c.totp_registration_id == registration.totp_registration_id)
        .values(verified=True)
    )
    conn.execute(
        totp_registrations.delete().where(
            totp_registrations.c.member_id == registration.member_id,
            totp_registrations.c.verified.is_(False),
        )
    )
    return True


# -- recovery codes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedCode:
    digest: str
    ciphertext: str


def replace_codes(
    conn: Connection,
    *,
    project_id: str,
    organization_id: str,
    member_id: str,
    codes: list[SealedCode],
    when: datetime,
) -> None:
    delete_codes(conn, member_id)
    conn.execute(
        recovery_codes.insert(),
        [
            {
                "member_id": member_id,
                "code_digest": code.digest,
                "project_id": project_id,
                "organization_id": organization_id,
                "position": position,
                "code_ciphertext": code.ciphertext,
                "created_at": when,
            }
            for position, code in enumerate(codes)
        ],
    )


def delete_codes(conn: Connection, member_id: str) -> None:
    conn.execute(recovery_codes.delete().where(recovery_codes.c.member_id == member_id))


def unused_codes(conn: Connection, member_id: str) -> list[str]:
    """The sealed unused codes, in the order they were issued."""
    return list(
        conn.execute(
            sa.select(recovery_codes.c.code_ciphertext)
            .where(recovery_codes.c.member_id == member_id, recovery_codes.c.used_at.is_(None))
            .order_by(recovery_codes.c.position)
        ).scalars()
    )


def redeem(conn: Connection, member_id: str, digests: list[str], when: datetime) -> bool:
    """Spend the unused code with one of these digests; the row count decides a race."""
    result = conn.execute(
        recovery_codes.update()
        .where(
            recovery_codes.c.member_id == member_id,
            recovery_codes.c.code_digest.in_(digests),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=when)
    )
    return result.rowcount == 1


def count_unused(conn: Connection, member_id: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(recovery_codes)
            .where(recovery_codes.c.member_id == member_id, recovery_codes.c.used_at.is_(None))
        ).scalar()
        or 0
    )
