"""Email OTP flows, Stytch's B2B ``otps/email/*``: a six-digit code proves an email, for discovery
or for login to one organization, and can ride along in a magic-link mail.

discovery/send -----> code (scope "discovery") --discovery/authenticate--> IST + discovered orgs
login_or_signup ----> code (scope = org id) -----authenticate------------> session, or an IST

Authentication is two steps in two transactions: ``attempt_*`` counts the guess and compares
(committed whatever the outcome, so a wrong guess stays counted), then ``authenticate_*`` spends
the matched code and does the rest, all or nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.discovery import service as discovery
from tenantry.discovery.models import AuthOutcome, DiscoveredOrganization
from tenantry.email.compose import queue_templated
from tenantry.email.render import LOCALES
from tenantry.magic_links import store as links
from tenantry.members import email_login
from tenantry.members import store as members
from tenantry.members.email_login import LoginOrSignupResult
from tenantry.members.emails import normalise_email
from tenantry.members.models import DELETED
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.otps import codes, store
from tenantry.otps.store import DEFAULT_MINUTES, DISCOVERY, MAX_MINUTES, MIN_MINUTES, Attempt
from tenantry.projects.service import Project
from tenantry.sessions import service as sessions
from tenantry.sessions.models import IntermediateSession

FACTOR = "email_otp"


def _minutes(value: int | None, field: str) -> int:
    minutes = DEFAULT_MINUTES if value is None else value
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise errors.InvalidArgument(f"{field} must be between {MIN_MINUTES} and {MAX_MINUTES}.")
    return minutes


def _locale(locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise errors.InvalidArgument(f"locale must be one of {', '.join(LOCALES)}.")


def _code(code: str) -> str:
    # A malformed code is refused before it is counted: it cannot be anybody's code.
    if not codes.well_formed(code):
        raise errors.InvalidCode()
    return code


def _organization(conn: Connection, project: Project, reference: str) -> Organization:
    org = organizations.get_by_reference(conn, project.project_id, reference)
    if org is None:
        raise errors.OrganizationNotFound()
    return org


def _spent(conn: Connection, clock: Clock, spent: store.SpentCode) -> None:
    # The link mailed together with this code is the same proof: it stops working too.
    if spent.link_digest:
        links.retire(conn, clock, token_digest=spent.link_digest)


# -- discovery ---------------------------------------------------------------------------------


def send_discovery_code(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    email_address: str,
    expiration_minutes: int | None,
    locale: str | None,
    mail_domain: str,
) -> None:
    email = normalise_email(email_address)
    minutes = _minutes(expiration_minutes, "discovery_expiration_minutes")
    _locale(locale)
    code = store.issue(
        conn,
        clock,
        project_id=project.project_id,
        email=email,
        scope=DISCOVERY,
        purpose="discovery",
        expiration_minutes=minutes,
    )
    queue_templated(
        conn,
        clock,
        project_id=project.project_id,
        project_sender=project.sender,
        to=email,
        template="email_otp",
        message_domain=mail_domain,
        locale=locale,
        expires_minutes=minutes,
        code=code,
    )


def attempt_discovery(conn: Connection, clock: Clock, *, project: Project, email_address: str, code: str) -> Attempt:
    email = normalise_email(email_address)
    return store.attempt(conn, clock, project_id=project.project_id, email=email, scope=DISCOVERY, code=_code(code))


def authenticate_discovery(
    conn: Connection, clock: Clock, *, project: Project, email_address: str, attempt: Attempt
) -> tuple[str, IntermediateSession, list[DiscoveredOrganization]]:
    if not attempt.matched:
        raise errors.OtpCodeNotFound()
    email = normalise_email(email_address)
    spent = store.consume(
        conn, clock, project_id=project.project_id, email=email, scope=DISCOVERY, challenge_id=attempt.challenge_id
    )
    _spent(conn, clock, spent)
    return discovery.start_discovery(conn, clock, project=project, email=email, factor_type=FACTOR)


# -- one organization --------------------------------------------------------------------------


def login_or_signup(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    organization_reference: str,
    email_address: str,
    login_expiration_minutes: int | None,
    signup_expiration_minutes: int | None,
    locale: str | None,
    mail_domain: str,
) -> LoginOrSignupResult:
    org = _organization(conn, project, organization_reference)
    email = normalise_email(email_address)
    login_minutes = _minutes(login_expiration_minutes, "login_expiration_minutes")
    signup_minutes = _minutes(signup_expiration_minutes, "signup_expiration_minutes")
    _locale(locale)
    admitted = email_login.admit(conn, clock, project=project, org=org, email=email, method=FACTOR)
    purpose, minutes = ("login", login_minutes) if admitted.is_login else ("signup", signup_minutes)
    code = store.issue(
        conn,
        clock,
        project_id=project.project_id,
        email=email,
        scope=org.organization_id,
        purpose=purpose,
        expiration_minutes=minutes,
        member_id=admitted.member.member_id,
    )
    queue_templated(
        conn,
        clock,
        project_id=project.project_id,
        project_sender=project.sender,
        to=email,
        template="email_otp",
        message_domain=mail_domain,
        locale=locale,
        organization=org,
        expires_minutes=minutes,
        code=code,
    )
    return admitted


def attempt_organization(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    organization_reference: str,
    email_address: str,
    code: str,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> Attempt:
    # Options are refused before the guess is counted: a bad request costs no attempt.
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)
    org = _organization(conn, project, organization_reference)
    email = normalise_email(email_address)
    return store.attempt(
        conn, clock, project_id=project.project_id, email=email, scope=org.organization_id, code=_code(code)
    )


def authenticate(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    organization_reference: str,
    email_address: str,
    attempt: Attempt,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    if not attempt.matched:
        raise errors.OtpCodeNotFound()
    org = _organization(conn, project, organization_reference)
    email = normalise_email(email_address)
    spent = store.consume(
        conn,
        clock,
        project_id=project.project_id,
        email=email,
        scope=org.organization_id,
        challenge_id=attempt.challenge_id,
    )
    _spent(conn, clock, spent)
    member = members.get(conn, project.project_id, spent.member_id or "")
    # Deleting the member since the send revokes the code, as it revokes a magic link.
    if member is None or member.status == DELETED or member.email_address != email:
        raise errors.UnableToAuthOtpCode()
    return email_login.complete(
        conn,
        clock,
        project=project,
        member=member,
        organization=org,
        factor_type=FACTOR,
        session_token=session_token,
        session_jwt=session_jwt,
        intermediate_session_token=intermediate_session_token,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        locale=locale,
    )
