"""Projects: the tenants of a Tenantry server, each with its own credentials and keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantry import tokens
from tenantry.clock import Clock
from tenantry.db.prepared import Prepared
from tenantry.db.schema import project_otp_settings, projects, sandbox_pins
from tenantry.email.sender import ProjectSender
from tenantry.errors import UnauthorizedCredentials
from tenantry.sessions import keys

# Stytch gives every new test project this redirect URL.
DEFAULT_TEST_REDIRECT_URL = "http://localhost:3000/authenticate"


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    redirect_urls: list[str]
    # The project's mail sender as ``authenticate`` read it in the request's transaction (mail
    # queued in that transaction uses it); None where it was not read.
    sender: ProjectSender | None = None
    # Read with it, for the sends of that transaction: whether the project has any sandbox pin,
    # and whether its magic-link mails carry an email OTP code. None where not read.
    has_sandbox_pins: bool | None = None
    code_in_link_mail: bool | None = None

    @property
    def environment(self) -> str:
        return "live" if self.project_id.startswith("project-live-") else "test"

    @property
    def is_test(self) -> bool:
        return self.environment == "test"


def create_project(
    conn: Connection,
    clock: Clock,
    *,
    name: str,
    environment: str = "test",
    redirect_urls: list[str] | None = None,
) -> tuple[Project, str]:
    """Create a project and its first signing key; returns the project and its secret.

    The secret is shown once: only its digest is stored.
    """
    if environment not in ("test", "live"):
        raise ValueError("environment must be 'test' or 'live'")
    project_id = f"project-{environment}-{uuid.uuid4()}"
    secret = tokens.project_secret(environment)
    if redirect_urls is None:
        redirect_urls = [DEFAULT_TEST_REDIRECT_URL] if environment == "test" else []
    conn.execute(
        projects.insert().values(
            project_id=project_id,
            name=name,
            secret_digest=tokens.digest(secret),
            redirect_urls=list(redirect_urls),
            created_at=clock.now(),
        )
    )
    keys.create_signing_key(conn, clock, project_id=project_id)
    return Project(project_id, name, list(redirect_urls)), secret


def get_project(conn: Connection, project_id: str) -> Project | None:
    row = conn.execute(sa.select(projects).where(projects.c.project_id == project_id)).first()
    if row is None:
        return None
    return Project(row.project_id, row.name, list(row.redirect_urls))


def list_projects(conn: Connection) -> list[Project]:
    rows = conn.execute(sa.select(projects).order_by(projects.c.created_at))
    return [Project(r.project_id, r.name, list(r.redirect_urls)) for r in rows]


# Built once and prepared (tenantry.db.prepared): every API request runs it, and building a
# statement costs more than running it.
# The two subqueries are primary-key probes (a few microseconds); each spares a send a statement
# of its own (tens of microseconds): the pin lookup per link sent, the OTP setting per link mail.
_BY_ID = Prepared(
    sa.select(
        projects.c.project_id,
        projects.c.name,
        projects.c.secret_digest,
        projects.c.redirect_urls,
        projects.c.mail_from_name,
        projects.c.mail_from_address,
        sa.exists().where(sandbox_pins.c.project_id == projects.c.project_id).label("has_sandbox_pins"),
        sa.select(project_otp_settings.c.code_in_magic_link_email)
        .where(project_otp_settings.c.project_id == projects.c.project_id)
        .scalar_subquery()
        .label("code_in_link_mail"),
    ).where(projects.c.project_id == sa.bindparam("project_id"))
)


def authenticate(conn: Connection, project_id: str, secret: str) -> Project:
    row = _BY_ID.first(conn, {"project_id": project_id})
    # Compare against a digest even for unknown projects so timing says nothing about which
    # project ids exist.
    stored = row.secret_digest if row is not None else tokens.digest("")
    if not tokens.matches(secret, stored) or row is None:
        raise UnauthorizedCredentials()
    return Project(
        row.project_id,
        row.name,
        list(row.redirect_urls),
        ProjectSender(row.mail_from_name, row.mail_from_address),
        has_sandbox_pins=bool(row.has_sandbox_pins),
        code_in_link_mail=bool(row.code_in_link_mail),  # no settings row yet: off
    )


def set_redirect_urls(conn: Connection, project_id: str, urls: list[str]) -> None:
    conn.execute(projects.update().where(projects.c.project_id == project_id).values(redirect_urls=urls))
