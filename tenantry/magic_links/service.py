"""Organization-scoped magic links: invitations, login-or-signup, and their authentication.

invite ------------> member invited --+
login_or_signup ---> member pending --+--> authenticate link --> member active + session
                     (or active) -----+
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry import errors
from tenantry.clock import Clock
from tenantry.discovery.models import AuthOutcome
from tenantry.email.compose import queue_templated
from tenantry.magic_links import landing, pkce, redirects
from tenantry.magic_links import store as links
from tenantry.members import email_login
from tenantry.members import store as members
from tenantry.members.email_login import LoginOrSignupResult
from tenantry.members.emails import normalise_email
from tenantry.members.models import ACTIVE, DELETED, INVITED, Member, email_domain, new_member
from tenantry.organizations import store as organizations
from tenantry.organizations.models import Organization
from tenantry.organizations.validation import validate_metadata
from tenantry.otps import companion
from tenantry.projects.service import Project
from tenantry.rbac.acting_member import ActingMember, authorize
from tenantry.rbac.policy import validate_roles
from tenantry.sandbox import fixtures as sandbox_fixtures
from tenantry.sandbox import pins as sandbox_pins
from tenantry.sandbox import values as sandbox
from tenantry.sessions import service as sessions

INVITE_DEFAULT_MINUTES = 10080
LOGIN_DEFAULT_MINUTES = 60
MIN_MINUTES = 5
MAX_MINUTES = 10080
LOCALES = ("en", "es", "pt-br", "fr")


def _minutes(value: int | None, default: int, field: str) -> int:
    minutes = default if value is None else value
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise errors.InvalidArgument(f"{field} must be between {MIN_MINUTES} and {MAX_MINUTES}.")
    return minutes


def _locale(locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise errors.InvalidArgument(f"locale must be one of {', '.join(LOCALES)}.")


def _organization(conn: Connection, project: Project, reference: str) -> Organization:
    org = organizations.get_by_reference(conn, project.project_id, reference)
    if org is None:
        raise errors.OrganizationNotFound()
    return org


def invite(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    actor: ActingMember | None,
    organization_reference: str,
    email_address: str,
    redirect_url: str | None,
    name: str | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    roles: list[str] | None,
    expiration_minutes: int | None,
    locale: str | None,
    invited_by_member_id: str | None,
    mail_domain: str,
    public_url: str,
) -> tuple[Member, Organization]:
    # Stytch's sandbox values: the request is checked as usual, then answered without any mail.
    sandboxed = sandbox.is_organization_send(project, organization_reference, email_address)
    if sandboxed:
        org = sandbox_fixtures.organization(project)
    elif actor is not None and actor.organization.organization_id == organization_reference:
        org = actor.organization  # read a moment ago in this transaction: the same row
    else:
        org = _organization(conn, project, organization_reference)
    authorize(actor, organization_id=org.organization_id, resource_id="stytch.member", action="create")
    if actor is not None and trusted_metadata is not None:
        raise errors.CannotUpdateTrustedMetadata()
    email = normalise_email(email_address)
    target = redirects.resolve(
        project, redirect_url, invalid=errors.InvalidInviteRedirectUrl, missing=errors.NoInviteRedirectUrl
    )
    minutes = _minutes(expiration_minutes, INVITE_DEFAULT_MINUTES, "invite_expiration_minutes")
    _locale(locale)
    policy = org.setting("email_invites")
    if policy == "NOT_ALLOWED":
        raise errors.InvalidEmailForInvites("This organization does not allow email invites.")
    if policy == "RESTRICTED" and email_domain(email) not in org.allowed_domains:
        raise errors.InvalidEmailForInvites()
    granted = validate_roles(org, roles or [])
    if actor is not None:
        # Delegation never escalates: nobody hands out a role they do not hold themselves.
        beyond = [r for r in granted if r not in actor.roles]
        if beyond:
            raise errors.SessionAuthorizationError(
                f"The inviting member does not hold the role(s) they tried to grant: {', '.join(beyond)}."
            )
    if trusted_metadata is not None:
        validate_metadata(trusted_metadata, "trusted_metadata")
    if untrusted_metadata is not None:
        validate_metadata(untrusted_metadata, "untrusted_metadata")
    if sandboxed:
        return sandbox_fixtures.invited_member(project), org
    now = clock.now()
    existing = members.get_by_email(conn, project.project_id, org.organization_id, email)
    if existing is not None and existing.status == ACTIVE:
        raise _already_active()
    if existing is None:
        member = new_member(
            project_id=project.project_id,
            organization_id=org.organization_id,
            email_address=email,
            status=INVITED,
            email_verified=False,
            now=now,
            roles=granted,
            name=name or "",
            trusted_metadata=trusted_metadata or {},
            untrusted_metadata=untrusted_metadata or {},
        )
        members.insert(conn, member)
    else:
        # A fresh invitation replaces the previous one: its link stops working now.
        links.retire_for_member(conn, clock, member_id=existing.member_id, purposes=("invite", "signup"))
        changes: dict[str, Any] = {"status": INVITED, "updated_at": now}
        if name is not None:
            changes["name"] = name
        if roles is not None:
            changes["roles"] = granted
        if trusted_metadata is not None:
            changes["trusted_metadata"] = trusted_metadata
        if untrusted_metadata is not None:
            changes["untrusted_metadata"] = untrusted_metadata
        members.update(conn, existing.member_id, changes)
        member = members.get(conn, project.project_id, existing.member_id) or existing
    token = links.issue(
        conn,
        clock,
        project_id=project.project_id,
        purpose="invite",
        email=email,
        expiration_minutes=minutes,
        organization_id=org.organization_id,
        member_id=member.member_id,
        redirect_url=target,
        pinned_token=sandbox_pins.pinned_magic_link_token(
            conn, project_id=project.project_id, email=email, project_has_pins=project.has_sandbox_pins
        ),
    )
    inviter = actor.member if actor is not None else None
    if inviter is None and invited_by_member_id:
        inviter = members.get(conn, project.project_id, invited_by_member_id)
    queue_templated(
        conn,
        clock,
        project_id=project.project_id,
        project_sender=project.sender,
        to=email,
        template="invite",
        message_domain=mail_domain,
        locale=locale,
        organization=org,
        link=landing.email_link(public_url, "invite", token),
        expires_minutes=minutes,
        inviter=(inviter.name or inviter.email_address) if inviter is not None else "",
        name=member.name,
    )
    return member, org


def _already_active() -> errors.TenantryError:
    return errors.DuplicateMemberEmail(
        "This email already belongs to an active member of the organization; there is nothing to invite."
    )


def login_or_signup(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    organization_reference: str,
    email_address: str,
    login_redirect_url: str | None,
    signup_redirect_url: str | None,
    pkce_code_challenge: str | None,
    login_expiration_minutes: int | None,
    signup_expiration_minutes: int | None,
    locale: str | None,
    mail_domain: str,
    public_url: str,
) -> LoginOrSignupResult:
    # Stytch's sandbox values: the request is checked as usual, then answered without any mail.
    sandboxed = sandbox.is_organization_send(project, organization_reference, email_address)
    org = sandbox_fixtures.organization(project) if sandboxed else _organization(conn, project, organization_reference)
    email = normalise_email(email_address)
    login_url = redirects.resolve(
        project, login_redirect_url, invalid=errors.InvalidLoginRedirectUrl, missing=errors.NoLoginRedirectUrl
    )
    signup_url = redirects.resolve(
        project, signup_redirect_url, invalid=errors.InvalidSignupRedirectUrl, missing=errors.NoLoginRedirectUrl
    )
    login_minutes = _minutes(login_expiration_minutes, LOGIN_DEFAULT_MINUTES, "login_expiration_minutes")
    signup_minutes = _minutes(signup_expiration_minutes, LOGIN_DEFAULT_MINUTES, "signup_expiration_minutes")
    _locale(locale)
    challenge = pkce.validate_challenge(pkce_code_challenge) if pkce_code_challenge else None
    if sandboxed:
        return LoginOrSignupResult(sandbox_fixtures.member(project), org, False)
    admitted = email_login.admit(conn, clock, project=project, org=org, email=email, method="magic_link")
    member = admitted.member
    purpose, target, minutes = (
        ("login", login_url, login_minutes) if admitted.is_login else ("signup", signup_url, signup_minutes)
    )
    token = links.issue(
        conn,
        clock,
        project_id=project.project_id,
        purpose=purpose,
        email=email,
        expiration_minutes=minutes,
        organization_id=org.organization_id,
        member_id=member.member_id,
        pkce_code_challenge=challenge,
        redirect_url=target,
        pinned_token=sandbox_pins.pinned_magic_link_token(
            conn, project_id=project.project_id, email=email, project_has_pins=project.has_sandbox_pins
        ),
    )
    # With the project's "code in magic-link mails" setting, the mail also carries an email OTP.
    code = companion.code_for_link_mail(
        conn,
        clock,
        project_id=project.project_id,
        email=email,
        link_token=token,
        purpose=purpose,
        organization=org,
        member_id=member.member_id,
        enabled=project.code_in_link_mail,
    )
    queue_templated(
        conn,
        clock,
        project_id=project.project_id,
        project_sender=project.sender,
        to=email,
        template=purpose,
        message_domain=mail_domain,
        locale=locale,
        organization=org,
        link=landing.email_link(public_url, purpose, token),
        expires_minutes=minutes,
        **code,
    )
    return admitted


def authenticate(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    token: str,
    pkce_code_verifier: str | None,
    session_token: str | None,
    session_jwt: str | None,
    intermediate_session_token: str | None,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)
    if sandbox.authenticates(project, token):
        return sandbox_fixtures.authenticate(
            conn,
            clock,
            project=project,
            session_duration_minutes=session_duration_minutes,
            session_custom_claims=session_custom_claims,
        )
    spent = links.spend(
        conn,
        clock,
        project_id=project.project_id,
        token=token,
        purposes=("invite", "login", "signup"),
        pkce_code_verifier=pkce_code_verifier,
    )
    found = members.get_with_organization(conn, project.project_id, spent.member_id or "", spent.organization_id or "")
    # Deleting an invited member revokes the invitation: its link no longer authenticates.
    if found is None or found[0].status == DELETED or found[0].email_address != spent.email_address:
        raise errors.UnableToAuthMagicLink()
    member, org = found
    return email_login.complete(
        conn,
        clock,
        project=project,
        member=member,
        organization=org,
        factor_type="magic_link",
        session_token=session_token,
        session_jwt=session_jwt,
        intermediate_session_token=intermediate_session_token,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        locale=locale,
    )
