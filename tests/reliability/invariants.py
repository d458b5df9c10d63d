"""What must hold in the database after a fault, read directly from the tables.

"Its admin": in Tenantry an organization made by ``discovery/organizations/create`` gets, in the
same transaction, one member: the person whose intermediate session created it (the founder),
with the ``stytch_admin`` role, status ``active`` and a verified email. The load never removes a
founder, so that member must exist for every organization, however the creating request ended.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from reliability.load import Ledger, Maildir
from tenantry.db.engine import create_engine
from tenantry.db.schema import member_sessions, members, organizations, outbox
from tenantry.members.models import ACTIVE, DELETED
from tenantry.rbac.policy import STYTCH_ADMIN


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def wait_for_outbox_to_drain(database_url: str, *, timeout: float) -> dict[str, int]:
    """Poll until no mail is queued (sent or dead only); the counts per status at the end."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                counts = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
            if not counts.get("queued") or time.monotonic() > deadline:
                return counts
            time.sleep(0.25)
    finally:
        engine.dispose()


def database_problems(database_url: str, project_id: str, ledger: Ledger) -> list[str]:
    """Every broken invariant, as a sentence (an empty list when all hold)."""
    problems: list[str] = []
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            orgs = {r.organization_id: r for r in conn.execute(sa.select(organizations)).all()}
            rows = conn.execute(sa.select(members)).all()
            sessions = conn.execute(sa.select(member_sessions)).all()
    finally:
        engine.dispose()
    by_member = {m.member_id: m for m in rows}
    founders = dict(ledger.slug_founders)

    # No organization without its admin.
    for org in orgs.values():
        founder = founders.get(org.slug)
        if founder is None:
            problems.append(f"organization {org.slug} was never requested by the load")
            continue
        admins = [
            m
            for m in rows
            if m.organization_id == org.organization_id
            and m.email_address == founder
            and m.status == ACTIVE
            and STYTCH_ADMIN in (m.roles or [])
            and m.email_verified
        ]
        if len(admins) != 1:
            problems.append(f"organization {org.slug} has {len(admins)} active admin(s) {founder}, not 1")

    # No member without its organization.
    for m in rows:
        if m.organization_id not in orgs:
            problems.append(f"member {m.member_id} belongs to missing organization {m.organization_id}")

    # No live session of a deleted (or missing) member, nor one in another organization.
    now = datetime.now(UTC).replace(tzinfo=None)
    for s in sessions:
        live = s.revoked_at is None and _naive_utc(s.expires_at) > now
        member = by_member.get(s.member_id)
        if member is None:
            problems.append(f"session {s.member_session_id} of missing member {s.member_id}")
        elif live and member.status == DELETED:
            problems.append(f"live session {s.member_session_id} of deleted member {s.member_id}")
        elif member.organization_id != s.organization_id:
            problems.append(f"session {s.member_session_id} in another organization than its member")

    # Everything the server acknowledged is there.
    for org_id, slug, founder, admin_id, _session in ledger.organizations:
        org = orgs.get(org_id)
        if org is None or org.slug != slug:
            problems.append(f"acknowledged organization {slug} ({org_id}) is missing")
        admin = by_member.get(admin_id)
        if admin is None or admin.email_address != founder or admin.organization_id != org_id:
            problems.append(f"acknowledged admin {admin_id} of {slug} is missing")
    deleted = {member_id for _, member_id in ledger.deleted}
    for org_id, member_id, email in ledger.invited:
        m = by_member.get(member_id)
        if m is None or m.organization_id != org_id or m.email_address != email:
            problems.append(f"acknowledged invitation of {email} ({member_id}) is missing")
    for _org_id, member_id, _token in ledger.accepted:
        m = by_member.get(member_id)
        expected = DELETED if member_id in deleted else ACTIVE
        if m is None or m.status != expected:
            problems.append(
                f"member {member_id} acknowledged as accepted is {m.status if m else 'missing'}, not {expected}"
            )
    for _org_id, member_id in ledger.deleted:
        m = by_member.get(member_id)
        if m is None or m.status != DELETED:
            problems.append(f"member {member_id} acknowledged as deleted is {m.status if m else 'missing'}")
    return problems


def session_problems(base_url: str, auth: tuple[str, str], ledger: Ledger) -> list[str]:
    """Through the API: the sessions of deleted members are refused, the others still work."""
    problems = []
    deleted = {member_id for _, member_id in ledger.deleted}
    with httpx.Client(base_url=base_url, auth=auth, timeout=30) as client:
        for _org_id, member_id, token in ledger.accepted:
            resp = client.post("/v1/b2b/sessions/authenticate", json={"session_token": token})
            if member_id in deleted:
                if (resp.status_code, resp.json().get("error_type")) != (404, "session_not_found"):
                    problems.append(f"session of deleted member {member_id}: {resp.status_code} {resp.text[:200]}")
            elif resp.status_code != 200:
                problems.append(f"session of member {member_id}: {resp.status_code} {resp.text[:200]}")
        for _org_id, slug, _founder, _admin, token in ledger.organizations:
            resp = client.post("/v1/b2b/sessions/authenticate", json={"session_token": token})
            if resp.status_code != 200:
                problems.append(f"admin session of {slug}: {resp.status_code} {resp.text[:200]}")
    return problems


def mail_problems(database_url: str, mailbox: Maildir, ledger: Ledger, counts: dict[str, int]) -> list[str]:
    """Every queued mail was delivered exactly into the mailbox: nothing queued, leased or dead
    is left, the mailbox holds one file per sent row, and each acknowledged send arrived."""
    import hashlib

    problems = []
    if counts.get("queued") or counts.get("dead"):
        problems.append(f"outbox did not drain: {counts}")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            sent = conn.execute(sa.select(outbox.c.message_id).where(outbox.c.status == "sent")).scalars().all()
    finally:
        engine.dispose()
    files = mailbox.names()
    expected_files = {hashlib.sha256(mid.encode()).hexdigest()[:32] for mid in sent}
    if files != expected_files:
        problems.append(
            f"mailbox holds {len(files)} mails, the outbox sent {len(sent)}: "
            f"{len(expected_files - files)} sent but absent, {len(files - expected_files)} unexplained"
        )
    for to, count in ledger.mails.items():
        got = len(mailbox.links(to))
        if got < count:
            problems.append(f"{to}: {count} mail(s) acknowledged, {got} delivered")
    return problems


def redelivered(database_url: str) -> int:
    """Mails claimed more than once: a lease that lapsed (its worker died) and was taken over."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(outbox.c.attempts > 1)).scalar_one()
    finally:
        engine.dispose()


def describe(answers: Any) -> str:
    from collections import Counter

    return ", ".join(f"{k}: {v}" for k, v in Counter((a.path, a.status) for a in answers).most_common(12))
