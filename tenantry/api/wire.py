"""Domain objects -> Stytch's JSON. Exactly the OpenAPI properties: required strings are ""
when empty, lists [], timestamps RFC 3339; optional objects are omitted rather than null
(strict clients reject null)."""

from __future__ import annotations

from typing import Any

from tenantry.clock import rfc3339
from tenantry.discovery.models import AuthOutcome, DiscoveredOrganization
from tenantry.members.models import Member
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import STYTCH_ADMIN, STYTCH_MEMBER
from tenantry.sessions.models import MemberSession
from tenantry.sessions.requirements import Requirements


def organization(org: Organization) -> dict[str, Any]:
    s = org.setting
    body: dict[str, Any] = {
        "organization_id": org.organization_id,
        "organization_name": org.name,
        "organization_logo_url": org.logo_url,
        "organization_slug": org.slug,
        "sso_jit_provisioning": s("sso_jit_provisioning"),
        "sso_jit_provisioning_allowed_connections": list(s("sso_jit_provisioning_allowed_connections")),
        "sso_active_connections": [],
        "email_allowed_domains": list(s("email_allowed_domains")),
        "email_jit_provisioning": s("email_jit_provisioning"),
        "email_invites": s("email_invites"),
        "auth_methods": s("auth_methods"),
        "allowed_auth_methods": list(s("allowed_auth_methods")),
        "mfa_policy": s("mfa_policy"),
        "rbac_email_implicit_role_assignments": list(s("rbac_email_implicit_role_assignments")),
        "mfa_methods": s("mfa_methods"),
        "allowed_mfa_methods": list(s("allowed_mfa_methods")),
        "oauth_tenant_jit_provisioning": s("oauth_tenant_jit_provisioning"),
        "claimed_email_domains": list(s("claimed_email_domains")),
        "first_party_connected_apps_allowed_type": s("first_party_connected_apps_allowed_type"),
        "allowed_first_party_connected_apps": list(s("allowed_first_party_connected_apps")),
        "third_party_connected_apps_allowed_type": s("third_party_connected_apps_allowed_type"),
        "allowed_third_party_connected_apps": list(s("allowed_third_party_connected_apps")),
        "custom_roles": list(org.custom_roles),
        "trusted_metadata": dict(org.trusted_metadata),
        "created_at": rfc3339(org.created_at),
        "updated_at": rfc3339(org.updated_at),
        "allowed_oauth_tenants": dict(s("allowed_oauth_tenants")),
    }
    if org.external_id is not None:
        body["organization_external_id"] = org.external_id
    return body


def member(m: Member) -> dict[str, Any]:
    roles = [
        {"role_id": STYTCH_MEMBER, "sources": [{"type": "direct_assignment", "details": {}}]},
        *(
            {"role_id": role, "sources": [{"type": "direct_assignment", "details": {}}]}
            for role in m.roles
            if role != STYTCH_MEMBER
        ),
    ]
    body: dict[str, Any] = {
        "organization_id": m.organization_id,
        "member_id": m.member_id,
        "email_address": m.email_address,
        "status": m.status,
        "name": m.name,
        "sso_registrations": [],
        "is_breakglass": m.is_breakglass,
        "member_password_id": "",
        "oauth_registrations": [],
        "email_address_verified": m.email_verified,
        "mfa_phone_number_verified": m.mfa_phone_number_verified,
        "is_admin": STYTCH_ADMIN in m.roles,
        "totp_registration_id": m.totp_registration_id,
        "retired_email_addresses": [],
        "is_locked": False,
        "mfa_enrolled": m.mfa_enrolled,
        "mfa_phone_number": m.mfa_phone_number,
        "default_mfa_method": m.default_mfa_method,
        "roles": roles,
        "trusted_metadata": dict(m.trusted_metadata),
        "untrusted_metadata": dict(m.untrusted_metadata),
        "created_at": rfc3339(m.created_at),
        "updated_at": rfc3339(m.updated_at),
    }
    if m.external_id is not None:
        body["external_id"] = m.external_id
    return body


def member_and_organization(m: Member, org: Organization) -> dict[str, Any]:
    """The body of every route that answers with one member of one organization."""
    return {"member_id": m.member_id, "member": member(m), "organization": organization(org)}


def member_session(session: MemberSession, *, roles: list[str], organization_slug: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "member_session_id": session.member_session_id,
        "member_id": session.member_id,
        "started_at": rfc3339(session.started_at),
        "last_accessed_at": rfc3339(session.last_accessed_at),
        "expires_at": rfc3339(session.expires_at),
        "authentication_factors": session.authentication_factors,
        "organization_id": session.organization_id,
        "roles": roles,
        "organization_slug": organization_slug,
    }
    if session.custom_claims:
        body["custom_claims"] = dict(session.custom_claims)
    return body


def _requirements(req: Requirements) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if req.primary_required is not None:
        body["primary_required"] = req.primary_required
    if req.mfa_required is not None:
        # Stytch sends both keys: member_options null until the member enrols a second factor,
        # secondary_auth_initiated null unless this very call texted a code.
        body["mfa_required"] = {"member_options": None, "secondary_auth_initiated": None, **req.mfa_required}
    return body


def discovered(found: DiscoveredOrganization) -> dict[str, Any]:
    membership: dict[str, Any] = {"type": found.membership_type}
    if found.details is not None:
        membership["details"] = found.details
    if found.member is not None:
        membership["member"] = member(found.member)
    return {
        "member_authenticated": found.requirements.satisfied,
        "organization": organization(found.organization),
        "membership": membership,
        **_requirements(found.requirements),
    }


def auth_outcome(outcome: AuthOutcome, roles: list[str]) -> dict[str, Any]:
    """The response family shared by discovery create, IST exchange and session exchange."""
    body: dict[str, Any] = {
        "member_id": outcome.member.member_id,
        "member": member(outcome.member),
        "organization": organization(outcome.organization),
        "session_token": outcome.issued.session_token if outcome.issued else "",
        "session_jwt": outcome.issued.session_jwt if outcome.issued else "",
        "intermediate_session_token": outcome.intermediate_session_token,
        "member_authenticated": outcome.issued is not None,
        **_requirements(outcome.requirements),
    }
    if outcome.issued is not None:
        body["member_session"] = member_session(
            outcome.issued.session, roles=roles, organization_slug=outcome.organization.slug
        )
    return body
