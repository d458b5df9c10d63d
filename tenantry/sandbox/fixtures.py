"""The organization, member and session Stytch's sandbox values answer with.

They exist only in responses: the sandbox organization id is global to Stytch, while Tenantry's
organization ids are unique across the whole server, so the fixture is never written to the
database. The member's ids are derived from the project id, so every answer of one project names
the same member. The session JWT is signed with the project's key and verifies locally; the
session itself is not stored (``sessions/authenticate`` answers 404 for it), and, as on Stytch,
it carries no roles.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from tenantry import tokens
from tenantry.clock import Clock, rfc3339
from tenantry.discovery.models import AuthOutcome
from tenantry.ids import environment_of
from tenantry.members.models import ACTIVE, INVITED, Member, new_member
from tenantry.organizations.models import Organization
from tenantry.projects.service import Project
from tenantry.sandbox.values import SANDBOX_EMAIL, SANDBOX_ORGANIZATION_ID
from tenantry.sessions import jwt as session_jwt
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sessions.models import IssuedSession, MemberSession

ORGANIZATION_NAME = "Sandbox Organization"
ORGANIZATION_SLUG = "sandbox-organization"
# Fixed, so that repeated answers are identical (tests may compare them).
CREATED_AT = datetime(2024, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("5d1f0a3c-7f7e-4b8e-9d55-6a1f4c2b9e10")


def _derived(kind: str, project_id: str) -> str:
    return f"{kind}-{environment_of(project_id)}-{uuid.uuid5(_NAMESPACE, f'{kind}:{project_id}')}"


def organization(project: Project) -> Organization:
    return Organization(
        organization_id=SANDBOX_ORGANIZATION_ID,
        project_id=project.project_id,
        name=ORGANIZATION_NAME,
        slug=ORGANIZATION_SLUG,
        external_id=None,
        logo_url="",
        trusted_metadata={},
        settings={},
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )


def member(project: Project, *, status: str = ACTIVE) -> Member:
    base = new_member(
        project_id=project.project_id,
        organization_id=SANDBOX_ORGANIZATION_ID,
        email_address=SANDBOX_EMAIL,
        status=status,
        email_verified=status == ACTIVE,
        now=CREATED_AT,
    )
    return replace(
        base,
        member_id=_derived("member", project.project_id),
        email_id=_derived("member-email", project.project_id),
    )


def invited_member(project: Project) -> Member:
    return member(project, status=INVITED)


def authenticate(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> AuthOutcome:
    """The answer to the success token: a member session in the sandbox organization."""
    minutes = sessions.session_duration(session_duration_minutes)
    claims = sessions.custom_claims(session_custom_claims)
    org = organization(project)
    person = member(project)
    now = clock.now()
    factors = [sessions.email_factor("magic_link", SANDBOX_EMAIL, rfc3339(now) or "", person.email_id)]
    session = MemberSession(
        member_session_id=f"member-session-{environment_of(project.project_id)}-{uuid.uuid4()}",
        project_id=project.project_id,
        organization_id=org.organization_id,
        member_id=person.member_id,
        authentication_factors=factors,
        custom_claims=claims,
        started_at=now,
        last_accessed_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    jwt = session_jwt.mint(conn, session, roles=[], organization_slug=org.slug, issued_at=int(now.timestamp()))
    issued = IssuedSession(session, tokens.session_token(), jwt)
    return AuthOutcome(person, org, issued, "", requirements.evaluate(org, factors))
