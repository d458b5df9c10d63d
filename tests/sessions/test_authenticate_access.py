"""``sessions.authenticate`` is read-mostly: it records ``last_accessed_at`` only when the stored one
is ``ACCESS_RECORDED_EVERY`` (30 s) old, and writes at once when it extends the session or changes
its claims; a revoked session is refused on the read-only path too (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from stytch.core.response_base import StytchError
from test_sessions_api import create_org, error_of

from tenantry.db.schema import member_sessions


def stored(server: Any, session_id: str) -> Any:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(member_sessions).where(member_sessions.c.member_session_id == session_id)
            ).one()
    finally:
        engine.dispose()


def set_last_accessed(server: Any, session_id: str, at: datetime) -> None:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                member_sessions.update()
                .where(member_sessions.c.member_session_id == session_id)
                .values(last_accessed_at=at)
            )
    finally:
        engine.dispose()


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def test_access_is_recorded_at_most_every_30_seconds(server, stytch_client):
    created = create_org(server, stytch_client, "head@access.example", "access")
    session_id = created.member_session.member_session_id
    before = aware(stored(server, session_id).last_accessed_at)

    # Fresh: answered from a read transaction, nothing written, the stored time is answered.
    fresh = stytch_client.sessions.authenticate(session_token=created.session_token)
    assert aware(stored(server, session_id).last_accessed_at) == before
    assert abs(fresh.member_session.last_accessed_at - before) < timedelta(seconds=1)

    # 31 s old: the call records the access (in a write transaction of its own) and answers it.
    old = datetime.now(UTC) - timedelta(seconds=31)
    set_last_accessed(server, session_id, old)
    answered = stytch_client.sessions.authenticate(session_token=created.session_token)
    recorded = aware(stored(server, session_id).last_accessed_at)
    assert datetime.now(UTC) - recorded < timedelta(seconds=10)
    assert abs(answered.member_session.last_accessed_at - recorded) < timedelta(seconds=1)
    claim = jwt.decode(answered.session_jwt, options={"verify_signature": False})["https://stytch.com/session"]
    assert claim["id"] == session_id


def test_extending_or_changing_claims_writes_even_when_access_is_fresh(server, stytch_client):
    created = create_org(server, stytch_client, "head@extend.example", "extend")
    session_id = created.member_session.member_session_id
    expires = aware(stored(server, session_id).expires_at)

    extended = stytch_client.sessions.authenticate(session_token=created.session_token, session_duration_minutes=600)
    now_expires = aware(stored(server, session_id).expires_at)
    assert now_expires - expires > timedelta(minutes=500)
    assert abs(extended.member_session.expires_at - now_expires) < timedelta(seconds=1)

    claimed = stytch_client.sessions.authenticate(
        session_token=created.session_token, session_custom_claims={"ward": "B"}
    )
    assert stored(server, session_id).custom_claims == {"ward": "B"}
    assert jwt.decode(claimed.session_jwt, options={"verify_signature": False})["ward"] == "B"

    # Invalid options are still refused (they are checked on the write path).
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.authenticate(session_token=created.session_token, session_duration_minutes=1)
    assert error_of(exc) == (400, "invalid_session_duration_minutes")


def test_revoked_session_is_refused_on_the_read_only_path(server, stytch_client):
    created = create_org(server, stytch_client, "head@revoke.example", "revoke")
    # Fresh access: the next authenticate would not write, so the refusal comes from the read.
    stytch_client.sessions.authenticate(session_token=created.session_token)
    stytch_client.sessions.revoke(session_token=created.session_token)
    for kwargs in ({"session_token": created.session_token}, {"session_jwt": created.session_jwt}):
        with pytest.raises(StytchError) as exc:
            stytch_client.sessions.authenticate(**kwargs)
        assert error_of(exc) == (404, "session_not_found")
