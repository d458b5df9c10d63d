"""A code inside a magic-link mail: the fallback when the link is opened on another device than
the one that asked for it (a phone reading the mail, a desktop waiting to sign in).

The code is issued like any other (it replaces the slot's previous code) and is tied to the link:
using either one retires the other (``store.retire_for_link``, ``magic_links.store.retire``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry import tokens
from tenantry.clock import Clock
from tenantry.organizations.models import Organization
from tenantry.otps import settings, store


def code_for_link_mail(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    email: str,
    link_token: str,
    purpose: str,
    organization: Organization | None = None,
    member_id: str | None = None,
    enabled: bool | None = None,
) -> dict[str, Any]:
    """``render`` arguments that add a code to a magic-link mail, when the project asked for that
    (``tenantry projects otp``); none for an organization that does not allow email OTP.

    ``enabled`` is that setting as the request's project lookup read it in this transaction
    (``Project.code_in_link_mail``); None reads it here."""
    if enabled is None:
        enabled = settings.code_in_magic_link_email(conn, project_id)
    if not enabled:
        return {}
    if (
        organization is not None
        and organization.setting("auth_methods") == "RESTRICTED"
        and "email_otp" not in organization.setting("allowed_auth_methods")
    ):
        return {}
    code = store.issue(
        conn,
        clock,
        project_id=project_id,
        email=email,
        scope=organization.organization_id if organization else store.DISCOVERY,
        purpose=purpose,
        expiration_minutes=store.DEFAULT_MINUTES,
        member_id=member_id,
        link_digest=tokens.digest(link_token),
    )
    return {"otp_code": code, "otp_expires_minutes": store.DEFAULT_MINUTES}
