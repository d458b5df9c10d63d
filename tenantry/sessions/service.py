"""Intermediate sessions (between a primary factor and an organization) and member sessions."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from tenantry import errors, tokens
from tenantry.clock import Clock, as_utc, rfc3339
from tenantry.db.prepared import Prepared
from tenantry.db.schema import intermediate_sessions, member_sessions
from tenantry.db.single_use import consume_statement
from tenantry.ids import environment_of
from tenantry.members.models import Member
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import session_roles
from tenantry.sessions import jwt as session_jwt
from tenantry.sessions.models import IntermediateSession, IssuedSession, MemberSession

INTERMEDIATE_SESSION_MINUTES = 10
DEFAULT_SESSION_MINUTES = 60
MIN_SESSION_MINUTES = 5
MAX_SESSION_MINUTES = 527040  # 366 days
CUSTOM_CLAIMS_LIMIT_BYTES = 4096


# -- factors -----------------------------------------------------------------------------------


def email_factor(kind: str, email: str, when: str, email_id: str = "") -> dict[str, Any]:
    """A primary email factor (``magic_link`` or ``email_otp``), in Stytch's wire shape."""
    return {
        "type": kind,
        "delivery_method": "email",
        "last_authenticated_at": when,
        "created_at": when,
        "updated_at": when,
        "email_factor": {"email_id": email_id, "email_address": email},
    }


def bind_factors(factors: list[dict[str, Any]], member: Member) -> list[dict[str, Any]]:
    """Factors collected before the member was known get the member's email id."""
    bound = []
    for factor in factors:
        factor = dict(factor)
        if "email_factor" in factor:
            factor["email_factor"] = {**factor["email_factor"], "email_id": member.email_id}
        bound.append(factor)
    return bound


# -- validation of request options -------------------------------------------------------------


def session_duration(minutes: int | None) -> int:
    if minutes is None:
        return DEFAULT_SESSION_MINUTES
    if not MIN_SESSION_MINUTES <= minutes <= MAX_SESSION_MINUTES:
        raise errors.InvalidSessionDurationMinutes()
    return minutes


def custom_claims(claims: dict[str, Any] | None) -> dict[str, Any]:
    if not claims:
        return {}
    if len(json.dumps(claims, separators=(",", ":"))) > CUSTOM_CLAIMS_LIMIT_BYTES:
        raise errors.CustomClaimsTooLarge()
    if reserved := session_jwt.RESERVED_CLAIMS.intersection(claims):
        raise errors.ReservedClaimsInCustomClaims(
            f"session_custom_claims may not set reserved claims: {', '.join(sorted(reserved))}."
        )
    if any(key.startswith("https://stytch.com/") for key in claims):
        raise errors.StytchClaimsInCustomClaims()
    return {k: v for k, v in claims.items() if v is not None}


# -- intermediate sessions ---------------------------------------------------------------------

# Built once with bound parameters: building a statement (and its cache key) per call cost more
# than SQLite takes to run it, on every request of the onboarding path.
_IST_INSERT = intermediate_sessions.insert()
_IST_LIVE = sa.select(intermediate_sessions).where(
    intermediate_sessions.c.token_digest == sa.bindparam("token_digest"),
    intermediate_sessions.c.project_id == sa.bindparam("project_id"),
    intermediate_sessions.c.consumed_at.is_(None),
    intermediate_sessions.c.expires_at > sa.bindparam("now", type_=intermediate_sessions.c.expires_at.type),
)
_IST_CONSUME = consume_statement(intermediate_sessions)
_IST_RELEASE = (
    intermediate_sessions.update()
    .where(intermediate_sessions.c.token_digest == sa.bindparam("p_token_digest"))
    .values(organization_id=sa.bindparam("p_organization_id"), consumed_at=None)
)


def _ist_from_row(row: Row[Any]) -> IntermediateSession:
    return IntermediateSession(
        token_digest=row.token_digest,
        project_id=row.project_id,
        email_address=row.email_address,
        organization_id=row.organization_id,
        authentication_factors=list(row.authentication_factors),
        expires_at=as_utc(row.expires_at),
    )


def create_intermediate_session(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    email: str,
    factors: list[dict[str, Any]],
    organization_id: str | None = None,
) -> tuple[str, IntermediateSession]:
    token = tokens.session_token()
    now = clock.now()
    ist = IntermediateSession(
        token_digest=tokens.digest(token),
        project_id=project_id,
        email_address=email,
        organization_id=organization_id,
        authentication_factors=factors,
        expires_at=now + timedelta(minutes=INTERMEDIATE_SESSION_MINUTES),
    )
    conn.execute(
        _IST_INSERT,
        {
            "token_digest": ist.token_digest,
            "project_id": project_id,
            "email_address": email,
            "organization_id": organization_id,
            "authentication_factors": factors,
            "created_at": now,
            "expires_at": ist.expires_at,
        },
    )
    return token, ist


def live_intermediate_session(conn: Connection, clock: Clock, *, project_id: str, token: str) -> IntermediateSession:
    row = conn.execute(
        _IST_LIVE, {"token_digest": tokens.digest(token), "project_id": project_id, "now": clock.now()}
    ).first()
    if row is None:
        raise errors.IntermediateSessionNotFound()
    return _ist_from_row(row)


def consume_intermediate_session(conn: Connection, clock: Clock, ist: IntermediateSession) -> None:
    """Spend an IST exactly once: the conditional update's row count decides the race."""
    result = conn.execute(_IST_CONSUME, {"p_token_digest": ist.token_digest, "p_now": clock.now()})
    if result.rowcount != 1:
        raise errors.IntermediateSessionNotFound()


def release_intermediate_session(conn: Connection, ist: IntermediateSession, organization_id: str) -> None:
    """Undo a consumption within the same transaction, binding the IST to an organization."""
    conn.execute(_IST_RELEASE, {"p_token_digest": ist.token_digest, "p_organization_id": organization_id})


# -- member sessions ---------------------------------------------------------------------------

_SESSION_INSERT = member_sessions.insert()


def _live_session(column: str) -> sa.Select[Any]:
    return sa.select(member_sessions).where(
        member_sessions.c.project_id == sa.bindparam("project_id"),
        member_sessions.c.revoked_at.is_(None),
        member_sessions.c.expires_at > sa.bindparam("now", type_=member_sessions.c.expires_at.type),
        member_sessions.c[column] == sa.bindparam("value"),
    )


# By the column ``live_session_key`` names.
_LIVE_SESSION = {column: Prepared(_live_session(column)) for column in ("token_digest", "member_session_id")}


def session_from_row(row: Row[Any]) -> MemberSession:
    return MemberSession(
        member_session_id=row.member_session_id,
        project_id=row.project_id,
        organization_id=row.organization_id,
        member_id=row.member_id,
        authentication_factors=list(row.authentication_factors),
        custom_claims=dict(row.custom_claims or {}),
        started_at=as_utc(row.started_at),
        last_accessed_at=as_utc(row.last_accessed_at),
        expires_at=as_utc(row.expires_at),
    )


def start_member_session(
    conn: Connection,
    clock: Clock,
    *,
    member: Member,
    organization: Organization,
    factors: list[dict[str, Any]],
    duration_minutes: int | None,
    claims: dict[str, Any] | None,
) -> IssuedSession:
    minutes = session_duration(duration_minutes)
    claims = custom_claims(claims)
    now = clock.now()
    token = tokens.session_token()
    session = MemberSession(
        member_session_id=f"member-session-{environment_of(member.project_id)}-{uuid.uuid4()}",
        project_id=member.project_id,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        authentication_factors=bind_factors(factors, member),
        custom_claims=claims,
        started_at=now,
        last_accessed_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    conn.execute(
        _SESSION_INSERT,
        {
            "member_session_id": session.member_session_id,
            "token_digest": tokens.digest(token),
            "project_id": session.project_id,
            "organization_id": session.organization_id,
            "member_id": session.member_id,
            "authentication_factors": session.authentication_factors,
            "custom_claims": session.custom_claims,
            "started_at": now,
            "last_accessed_at": now,
            "expires_at": session.expires_at,
        },
    )
    return IssuedSession(session, token, jwt_for(conn, clock, session, member, organization))


def jwt_for(
    conn: Connection,
    clock: Clock,
    session: MemberSession,
    member: Member,
    organization: Organization,
    kid: str | None = None,
) -> str:
    return session_jwt.mint(
        conn,
        session,
        roles=session_roles(member.roles),
        organization_slug=organization.slug,
        issued_at=int(clock.now().timestamp()),
        kid=kid,
    )


def find_live_session(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    session_token: str | None = None,
    session_jwt_value: str | None = None,
) -> MemberSession:
    """The live session a token or JWT names; 404 ``session_not_found`` otherwise."""
    column, value = live_session_key(
        conn, project_id=project_id, session_token=session_token, session_jwt_value=session_jwt_value
    )
    row = _LIVE_SESSION[column].first(conn, {"project_id": project_id, "now": clock.now(), "value": value})
    if row is None:
        raise errors.SessionNotFound()
    return session_from_row(row)


def live_session_key(
    conn: Connection,
    *,
    project_id: str,
    session_token: str | None,
    session_jwt_value: str | None,
) -> tuple[str, str]:
    """Which ``member_sessions`` column, with which value, names the session a token or JWT
    presents: ``token_digest`` or ``member_session_id``. 404 for a JWT this project did not sign."""
    if session_token and session_jwt_value:
        raise errors.TooManySessionArguments()
    if session_token:
        return "token_digest", tokens.digest(session_token)
    if session_jwt_value:
        session_id = session_jwt.session_id_from(conn, project_id, session_jwt_value)
        if session_id is None:
            raise errors.SessionNotFound()
        return "member_session_id", session_id
    raise errors.NoSessionArguments()


def refresh_session(
    conn: Connection,
    clock: Clock,
    session: MemberSession,
    *,
    member: Member,
    organization: Organization,
    duration_minutes: int | None,
    claims_update: dict[str, Any] | None,
) -> tuple[MemberSession, str]:
    """Record the access, optionally extend the session, and mint a fresh JWT."""
    now = clock.now()
    values: dict[str, Any] = {"last_accessed_at": now}
    updated = replace(session, last_accessed_at=now)
    if duration_minutes is not None:
        expires = now + timedelta(minutes=session_duration(duration_minutes))
        values["expires_at"] = expires
        updated = replace(updated, expires_at=expires)
    if claims_update:
        merged = dict(session.custom_claims)
        for key, value in claims_update.items():
            if value is None:
                merged.pop(key, None)  # Stytch: a null value deletes the claim
            else:
                merged[key] = value
        merged = custom_claims(merged)
        values["custom_claims"] = merged
        updated = replace(updated, custom_claims=merged)
    conn.execute(
        member_sessions.update()
        .where(member_sessions.c.member_session_id == session.member_session_id)
        .values(**values)
    )
    return updated, jwt_for(conn, clock, updated, member, organization)


def set_factors(conn: Connection, session: MemberSession, factors: list[dict[str, Any]]) -> MemberSession:
    """Step-up: the session now carries ``factors`` (the caller adds the new one)."""
    conn.execute(
        member_sessions.update()
        .where(member_sessions.c.member_session_id == session.member_session_id)
        .values(authentication_factors=factors)
    )
    return replace(session, authentication_factors=factors)


def revoke_session(conn: Connection, clock: Clock, member_session_id: str) -> None:
    conn.execute(
        member_sessions.update()
        .where(member_sessions.c.member_session_id == member_session_id, member_sessions.c.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def revoke_sessions_of_member(conn: Connection, clock: Clock, member_id: str) -> None:
    conn.execute(
        member_sessions.update()
        .where(member_sessions.c.member_id == member_id, member_sessions.c.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def session_timestamps(session: MemberSession) -> dict[str, str | None]:
    return {
        "started_at": rfc3339(session.started_at),
        "last_accessed_at": rfc3339(session.last_accessed_at),
        "expires_at": rfc3339(session.expires_at),
    }
