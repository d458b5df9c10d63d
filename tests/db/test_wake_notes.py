"""The delivery-loop wake notes (tenantry.wake) on a real SQLite connection, including one whose
database connection was lost mid-transaction, as PostgreSQL's are during an outage: taking the
note must not raise there, or a 503 for the outage becomes a 500."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tenantry.db.engine import create_engine
from tenantry.wake import note_queued, take_queued


def test_notes_are_taken_once(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'wake.db'}")
    try:
        with engine.connect() as conn, conn.begin():
            note_queued(conn, "mail")
            note_queued(conn, "mail")
            assert take_queued(conn) == {"mail"}
            assert take_queued(conn) == frozenset()
    finally:
        engine.dispose()


def test_a_connection_lost_mid_transaction_has_no_notes_and_raises_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'wake.db'}")
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            note_queued(conn, "sms")
            conn.invalidate()  # what SQLAlchemy does when the driver reports the connection gone
            try:
                conn.info  # noqa: B018 - SQLAlchemy refuses until the rollback
            except sa.exc.PendingRollbackError:
                pass
            else:
                raise AssertionError("expected SQLAlchemy to refuse the lost connection's info")
            assert take_queued(conn) == frozenset()
            transaction.rollback()
    finally:
        engine.dispose()
