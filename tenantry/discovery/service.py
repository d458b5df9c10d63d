"""The discovery flow: prove an email, see the organizations it may enter, create or enter one.

send link --> authenticate link --> IST --+--> create organization --> member session
                                          +--> exchange into one   --> member session
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock, rfc3339
from tenantry.discovery.models import (
    ELIGIBLE_BY_DOMAIN,
    MEMBERSHIP_OF_STATUS,
    AuthOutcome,
    DiscoveredOrganization,
)
from tenantry.email.compose import queue_templated
from tenantry.magic_links import landing, pkce, redirects
from tenantry.magic_links import store as links
from tenantry.members import store as members
from tenantry.members.emails import normalise_email
from tenantry.members.jit import refuse_unless_jit_allowed
from tenantry.members.models import ACTIVE, DELETED, Member, email_domain, new_member
from tenantry.organizations import service as organizations_service
from tenantry.organizations import store as organizations
from tenantry.organizations import validation
from tenantry.organizations.models import Organization
from tenantry.otps import companion
from tenantry.projects.service import Project
from tenantry.rbac.policy import STYTCH_ADMIN
from tenantry.sandbox import pins as sandbox_pins
from tenantry.sandbox import values as sandbox
from tenantry.sessions import requirements
from tenantry.sessions import service as sessions
from tenantry.sessions.entry import enter_organization
from tenantry.sessions.models import IntermediateSession

DISCOVERY_LINK_DEFAULT_MINUTES = 60
LINK_MIN_MINUTES = 5
LINK_MAX_MINUTES = 10080
LOCALES = ("en", "es", "pt-br", "fr")


def send_discovery_link(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    email_address: str,
    redirect_url: str | None,
    expiration_minutes: int | None,
    pkce_code_challenge: str | None,
    locale: str | None,
    mail_domain: str,
    public_url: str,
) -> None:
    email = normalise_email(email_address)
    target = redirects.resolve(project, redirect_url, invalid=errors.InvalidDiscoveryRedirectUrl)
    minutes = DISCOVERY_LINK_DEFAULT_MINUTES if expiration_minutes is None else expiration_minutes
    if not LINK_MIN_MINUTES <= minutes <= LINK_MAX_MINUTES:
        raise errors.InvalidArgument("discovery_expiration_minutes must be between 5 and 10080.")
    if locale is not None and locale not in LOCALES:
        raise errors.InvalidArgument(f"locale must be one of {', '.join(LOCALES)}.")
    challenge = pkce.validate_challenge(pkce_code_challenge) if pkce_code_challenge else None
    if sandbox.is_discovery_send(project, email):
        return  # Stytch's sandbox address: a checked request, answered without any mail
    # Earlier links stay valid: as on Stytch, each one is good until used or expired.
    token = links.issue(
        conn,
        clock,
        project_id=project.project_id,
        purpose="discovery",
        email=email,
        expiration_minutes=minutes,
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
        purpose="discovery",
        enabled=project.code_in_link_mail,
    )
    queue_templated(
        conn,
        clock,
        project_id=project.project_id,
        project_sender=project.sender,
        to=email,
        template="discovery",
        message_domain=mail_domain,
        locale=locale,
        link=landing.email_link(public_url, "discovery", token),
        expires_minutes=minutes,
        **code,
    )


def authenticate_discovery_link(
    conn: Connection, clock: Clock, *, project: Project, token: str, pkce_code_verifier: str | None
) -> tuple[str, IntermediateSession, list[DiscoveredOrganization]]:
    if sandbox.authenticates(project, token):
        # Stytch's sandbox success token proves sandbox@stytch.com; the IST it yields is real.
        return start_discovery(conn, clock, project=project, email=sandbox.SANDBOX_EMAIL, factor_type="magic_link")
    spent = links.spend(
        conn,
        clock,
        project_id=project.project_id,
        token=token,
        purposes=("discovery",),
        pkce_code_verifier=pkce_code_verifier,
    )
    return start_discovery(conn, clock, project=project, email=spent.email_address, factor_type="magic_link")


def start_discovery(
    conn: Connection, clock: Clock, *, project: Project, email: str, factor_type: str
) -> tuple[str, IntermediateSession, list[DiscoveredOrganization]]:
    """An email just proven by ``factor_type`` (``magic_link`` or ``email_otp``): an IST carrying
    that factor, and the organizations the email may enter."""
    factor = sessions.email_factor(factor_type, email, rfc3339(clock.now()) or "")
    ist_token, ist = sessions.create_intermediate_session(
        conn, clock, project_id=project.project_id, email=email, factors=[factor]
    )
    found = discover(conn, project_id=project.project_id, email=ist.email_address, factors=ist.authentication_factors)
    return ist_token, ist, found


def discover(
    conn: Connection,
    *,
    project_id: str,
    email: str,
    factors: list[dict[str, Any]],
    memberships_only: bool = False,
) -> list[DiscoveredOrganization]:
    """Organizations this email belongs to, is invited to, or (with an IST) may join by domain."""
    memberships = members.memberships_of_email(conn, project_id, email)
    mine = [m for m in memberships if m.status != DELETED]
    domain = email_domain(email)
    candidate_ids = [] if memberships_only else organizations.organizations_admitting_domain(conn, project_id, domain)
    # Deleted memberships count too: a deleted member is not "eligible" again by domain.
    known = {m.organization_id for m in memberships}
    orgs = organizations.get_many(conn, project_id, [m.organization_id for m in mine] + candidate_ids)
    found: list[DiscoveredOrganization] = []
    for member in mine:
        org = orgs[member.organization_id]
        found.append(
            DiscoveredOrganization(
                organization=org,
                membership_type=MEMBERSHIP_OF_STATUS[member.status],
                member=member,
                details=None,
                requirements=requirements.evaluate(org, factors, member),
            )
        )
    for org_id in candidate_ids:
        org = orgs.get(org_id)
        if org is None or org_id in known or not _admits_by_domain(conn, org, domain):
            continue
        found.append(
            DiscoveredOrganization(
                organization=org,
                membership_type=ELIGIBLE_BY_DOMAIN,
                member=None,
                details={"domain": domain},
                requirements=requirements.evaluate(org, factors),
            )
        )
    return found


def _admits_by_domain(conn: Connection, org: Organization, domain: str) -> bool:
    # Stytch's anti-phishing rule: a domain only opens an organization once somebody with a
    # verified address on that domain is already inside it.
    return (
        org.setting("email_jit_provisioning") == "RESTRICTED"
        and domain in org.allowed_domains
        and members.has_verified_member_on_domain(conn, org.organization_id, domain)
    )


def list_organizations(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    intermediate_session_token: str | None,
    session_token: str | None,
    session_jwt: str | None,
) -> tuple[str, list[DiscoveredOrganization], str | None]:
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if len(given) > 1:
        raise errors.TooManySessionArguments()
    if not given:
        raise errors.NoSessionArguments(
            "One of intermediate_session_token, session_token or session_jwt must be provided."
        )
    if intermediate_session_token:
        ist = sessions.live_intermediate_session(
            conn, clock, project_id=project.project_id, token=intermediate_session_token
        )
        found = discover(
            conn, project_id=project.project_id, email=ist.email_address, factors=ist.authentication_factors
        )
        return ist.email_address, found, ist.organization_id
    session = sessions.find_live_session(
        conn, clock, project_id=project.project_id, session_token=session_token, session_jwt_value=session_jwt
    )
    member = members.get(conn, project.project_id, session.member_id)
    if member is None:
        raise errors.SessionNotFound()
    found = discover(
        conn,
        project_id=project.project_id,
        email=member.email_address,
        factors=session.authentication_factors,
        memberships_only=True,
    )
    return member.email_address, found, None


def create_organization(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    intermediate_session_token: str,
    fields: dict[str, Any],
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
) -> AuthOutcome:
    """Organization, its first admin and their session: one transaction, or nothing at all."""
    ist = _spend_intermediate_session(conn, clock, project, intermediate_session_token)
    # Options are validated before the new rows are written; any error rolls back the whole
    # transaction, the IST's consumption included, so a bad request changes nothing.
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)
    org = _new_organization(conn, clock, project=project, creator_email=ist.email_address, fields=fields)
    now = clock.now()
    member = new_member(
        project_id=project.project_id,
        organization_id=org.organization_id,
        email_address=ist.email_address,
        status=ACTIVE,
        email_verified=True,
        now=now,
        roles=[STYTCH_ADMIN],
    )
    try:
        organizations.insert(conn, org)
        members.insert(conn, member)
    except IntegrityError:
        # Lost a race for the slug or external id against a concurrent creation.
        raise errors.OrganizationSlugAlreadyUsed() from None
    return _enter(
        conn,
        clock,
        ist=ist,
        ist_token=intermediate_session_token,
        member=member,
        organization=org,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
    )


def _spend_intermediate_session(conn: Connection, clock: Clock, project: Project, token: str) -> IntermediateSession:
    """Spend the IST before doing anything else: under concurrent calls the conditional update
    makes exactly one caller the owner (the others wait on the row, then find it spent)."""
    ist = sessions.live_intermediate_session(conn, clock, project_id=project.project_id, token=token)
    sessions.consume_intermediate_session(conn, clock, ist)
    return ist


def _new_organization(
    conn: Connection, clock: Clock, *, project: Project, creator_email: str, fields: dict[str, Any]
) -> Organization:
    # The same rules as POST /v1/b2b/organizations; only the default name is discovery's own.
    name = fields.get("organization_name") or _default_name(creator_email)
    return organizations_service.build_organization(
        conn, clock, project_id=project.project_id, name=name, fields=fields
    )


def _default_name(email: str) -> str:
    """Stytch names an unnamed organization after the email's domain, or its local part for
    free-mail providers."""
    local, domain = email.rsplit("@", 1)
    if domain in validation.COMMON_DOMAINS or domain.endswith(".edu"):
        return local[:128]
    return domain.split(".")[0][:128] or local[:128]


def exchange_intermediate_session(
    conn: Connection,
    clock: Clock,
    *,
    project: Project,
    intermediate_session_token: str,
    organization_reference: str,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    ist = _spend_intermediate_session(conn, clock, project, intermediate_session_token)
    sessions.session_duration(session_duration_minutes)
    sessions.custom_claims(session_custom_claims)
    org = organizations.get_by_reference(conn, project.project_id, organization_reference)
    if org is None:
        raise errors.OrganizationNotFound()
    member = members.get_by_email(conn, project.project_id, org.organization_id, ist.email_address)
    now = clock.now()
    if member is None or member.status == DELETED:
        member = _join_by_domain(conn, clock, project=project, org=org, email=ist.email_address, deleted=member)
    elif member.status != ACTIVE:
        # Proving the email accepts a pending invitation.
        members.activate(conn, member.member_id, now)
        member = members.get(conn, project.project_id, member.member_id) or member
    return _enter(
        conn,
        clock,
        ist=ist,
        ist_token=intermediate_session_token,
        member=member,
        organization=org,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        locale=locale,
    )


def _join_by_domain(
    conn: Connection, clock: Clock, *, project: Project, org: Organization, email: str, deleted: Member | None
) -> Member:
    refuse_unless_jit_allowed(
        org,
        domain_admitted=_admits_by_domain(conn, org, email_domain(email)),
        previously_deleted=deleted is not None,
    )
    member = new_member(
        project_id=project.project_id,
        organization_id=org.organization_id,
        email_address=email,
        status=ACTIVE,
        email_verified=True,
        now=clock.now(),
    )
    # The same person may be joining through another IST at this moment: one membership wins.
    return members.insert_or_existing(conn, member)[0]


def _enter(
    conn: Connection,
    clock: Clock,
    *,
    ist: IntermediateSession,
    ist_token: str,
    member: Member,
    organization: Organization,
    session_duration_minutes: int | None,
    session_custom_claims: dict[str, Any] | None,
    locale: str | None = None,
) -> AuthOutcome:
    return enter_organization(
        conn,
        clock,
        member=member,
        organization=organization,
        factors=ist.authentication_factors,
        session_duration_minutes=session_duration_minutes,
        session_custom_claims=session_custom_claims,
        spent_ist=(ist, ist_token),
        locale=locale,
    )
