"""When an invitation counts as expired: the last send plus the lifetime the portal sends it with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenantry.portal.team import directory


def test_invitations_expire_a_week_after_their_last_send():
    sent = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    week = timedelta(minutes=directory.INVITE_MINUTES)
    assert week == timedelta(days=7)
    assert directory.status_of("invited", sent, sent + week - timedelta(seconds=1)) == ("invited", sent + week)
    assert directory.status_of("invited", sent, sent + week) == ("invitation_expired", sent + week)
    # SQLite hands timestamps back without a zone; they are UTC.
    assert directory.status_of("invited", sent.replace(tzinfo=None), sent + week)[0] == "invitation_expired"


def test_other_statuses_have_no_expiry():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    assert directory.status_of("active", now - timedelta(days=30), now) == ("active", None)
    assert directory.status_of("pending", None, now) == ("pending", None)
