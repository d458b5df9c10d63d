"""Magic-link tokens: stored as digests, spent once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tenantry import errors, tokens
from tenantry.clock import Clock, as_utc
from tenantry.db.schema import magic_links
from tenantry.db.single_use import consume_statement
from tenantry.magic_links import pkce
from tenantry.otps import store as otp_store

# Built once with bound parameters: building a statement (and its cache key) per call cost more
# than SQLite takes to run it, and every send and authenticate of the onboarding path runs these.
_INSERT = magic_links.insert()
_BY_DIGEST = sa.select(magic_links).where(
    magic_links.c.token_digest == sa.bindparam("token_digest"), magic_links.c.project_id == sa.bindparam("project_id")
)
_CONSUME = consume_statement(magic_links)


@cache
def _spend_unguarded(purposes: tuple[str, ...]) -> sa.Update:
    """Spend a live link of ``purposes`` that carries no PKCE challenge, returning what
    ``SpentLink`` needs: one statement for the common case. Built once per purposes tuple (each
    caller passes a constant)."""
    return (
        consume_statement(magic_links)
        .where(
            magic_links.c.project_id == sa.bindparam("p_project_id"),
            magic_links.c.purpose.in_(purposes),
            magic_links.c.pkce_code_challenge.is_(None),
        )
        .returning(
            magic_links.c.purpose, magic_links.c.email_address, magic_links.c.organization_id, magic_links.c.member_id
        )
    )


@dataclass(frozen=True)
class SpentLink:
    purpose: str
    email_address: str
    organization_id: str | None
    member_id: str | None


def issue(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    purpose: str,
    email: str,
    expiration_minutes: int,
    organization_id: str | None = None,
    member_id: str | None = None,
    pkce_code_challenge: str | None = None,
    redirect_url: str | None = None,
    pinned_token: str | None = None,
) -> str:
    """A new link; ``redirect_url`` is where its Continue page forwards (validated by the caller).

    ``pinned_token`` is a test project's sandbox pin: the same token is issued again and again,
    so its row is reset to a fresh, unspent link rather than inserted a second time.
    """
    token = pinned_token or tokens.magic_link_token()
    now = clock.now()
    values = {
        "token_digest": tokens.digest(token),
        "project_id": project_id,
        "purpose": purpose,
        "email_address": email,
        "organization_id": organization_id,
        "member_id": member_id,
        "pkce_code_challenge": pkce_code_challenge,
        "created_at": now,
        "expires_at": now + timedelta(minutes=expiration_minutes),
        "consumed_at": None,
        "redirect_url": redirect_url,
    }
    if pinned_token is None:
        conn.execute(_INSERT, values)
    else:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(magic_links).values(**values)
        # Only this project's row is reset; pins keep a token to one project (sandbox.pins).
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[magic_links.c.token_digest],
                set_={k: stmt.excluded[k] for k in values if k != "token_digest"},
                where=magic_links.c.project_id == stmt.excluded.project_id,
            )
        )
    return token


@dataclass(frozen=True)
class LinkRecord:
    """A link as stored, read without touching it (the Continue page must change nothing)."""

    project_id: str
    purpose: str
    email_address: str
    organization_id: str | None
    redirect_url: str | None
    usable: bool


def peek(conn: Connection, clock: Clock, token: str) -> LinkRecord | None:
    row = conn.execute(sa.select(magic_links).where(magic_links.c.token_digest == tokens.digest(token))).first()
    if row is None:
        return None
    usable = row.consumed_at is None and as_utc(row.expires_at) > clock.now()
    return LinkRecord(row.project_id, row.purpose, row.email_address, row.organization_id, row.redirect_url, usable)


def spend(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    token: str,
    purposes: tuple[str, ...],
    pkce_code_verifier: str | None,
) -> SpentLink:
    """Consume a link exactly once, also under concurrent calls.

    PKCE is checked before the token is spent: a link opened in the wrong browser must still
    be usable in the right one.
    """
    token_digest = tokens.digest(token)
    if not pkce_code_verifier:
        # The common case in one statement; any other outcome (no such link, spent, expired, a
        # PKCE challenge, another flow's link) is told apart by the read below, as before.
        spent = conn.execute(
            _spend_unguarded(purposes),
            {"p_token_digest": token_digest, "p_project_id": project_id, "p_now": clock.now()},
        ).first()
        if spent is not None:
            otp_store.retire_for_link(conn, clock, link_digest=token_digest)
            return SpentLink(spent.purpose, spent.email_address, spent.organization_id, spent.member_id)
    row = conn.execute(_BY_DIGEST, {"token_digest": token_digest, "project_id": project_id}).first()
    # A token of another flow (say, a discovery link at the organization endpoint) is, for
    # this endpoint, a token that does not exist.
    if row is None or row.purpose not in purposes:
        raise errors.MagicLinkNotFound()
    now = clock.now()
    if row.consumed_at is not None or as_utc(row.expires_at) <= now:
        raise errors.UnableToAuthMagicLink()
    pkce.check(row.pkce_code_challenge, pkce_code_verifier)
    result = conn.execute(_CONSUME, {"p_token_digest": token_digest, "p_now": now})
    if result.rowcount != 1:
        raise errors.UnableToAuthMagicLink()
    # A code mailed with this link is the same proof: it stops working too.
    otp_store.retire_for_link(conn, clock, link_digest=token_digest)
    return SpentLink(row.purpose, row.email_address, row.organization_id, row.member_id)


def retire(conn: Connection, clock: Clock, *, token_digest: str) -> None:
    """The link stops working (the code mailed with it was used)."""
    conn.execute(
        magic_links.update()
        .where(magic_links.c.token_digest == token_digest, magic_links.c.consumed_at.is_(None))
        .values(consumed_at=clock.now())
    )


def retire_for_member(conn: Connection, clock: Clock, *, member_id: str, purposes: tuple[str, ...]) -> None:
    """Unused links of these kinds stop working (an invitation replaced by a newer one)."""
    conn.execute(
        magic_links.update()
        .where(
            magic_links.c.member_id == member_id,
            magic_links.c.purpose.in_(purposes),
            magic_links.c.consumed_at.is_(None),
        )
        .values(consumed_at=clock.now())
    )
