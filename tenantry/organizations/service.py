"""Organizations through the API: create, get, update, delete, search.

Every function takes the acting member (``None`` when the call carries only the project
secret): with one, the member's roles must grant the action in the organization touched, and
another organization's member is answered as if the organization did not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock
from tenantry.ids import new_id
from tenantry.organizations import store, validation
from tenantry.organizations.models import AUTH_SETTING_FIELDS, DEFAULT_SETTINGS, Organization
from tenantry.organizations.search import condition
from tenantry.rbac.acting_member import ActingMember, authorize
from tenantry.search import decode_cursor, encode_cursor, page_limit, parse_query

RESOURCE = "stytch.organization"
LOGO_URL_MAX = 2048

# Update request field -> the stytch.organization action a member session needs to change it.
FIELD_ACTIONS: dict[str, str] = {
    "organization_name": "update.info.name",
    "organization_slug": "update.info.slug",
    "organization_logo_url": "update.info.logo-url",
    "sso_default_connection_id": "update.settings.default-sso-connection",
    "sso_jit_provisioning": "update.settings.sso-jit-provisioning",
    "sso_jit_provisioning_allowed_connections": "update.settings.sso-jit-provisioning",
    "email_allowed_domains": "update.settings.allowed-domains",
    "email_jit_provisioning": "update.settings.email-jit-provisioning",
    "email_invites": "update.settings.email-invites",
    "auth_methods": "update.settings.allowed-auth-methods",
    "allowed_auth_methods": "update.settings.allowed-auth-methods",
    "mfa_policy": "update.settings.mfa-policy",
    "rbac_email_implicit_role_assignments": "update.settings.implicit-roles",
    "mfa_methods": "update.settings.allowed-mfa-methods",
    "allowed_mfa_methods": "update.settings.allowed-mfa-methods",
    "oauth_tenant_jit_provisioning": "update.settings.oauth-tenant-jit-provisioning",
    "allowed_oauth_tenants": "update.settings.allowed-oauth-tenants",
}


# -- creation (shared with discovery's create) ---------------------------------------------------


def build_organization(
    conn: Connection, clock: Clock, *, project_id: str, name: str, fields: dict[str, Any]
) -> Organization:
    """A validated, not yet stored organization: name, slug (given or derived and free),
    external id, settings with Stytch's defaults, trusted metadata, logo."""
    validation.validate_name(name)
    slug = fields.get("organization_slug")
    if slug is not None:
        slug = validation.validate_slug(slug)
        if store.slug_taken(conn, project_id, slug):
            raise errors.OrganizationSlugAlreadyUsed()
    else:
        slug = free_slug(conn, project_id, name)  # checked free in this transaction already
    external_id = fields.get("organization_external_id")
    if external_id is not None:
        validation.validate_external_id(external_id)
        if store.external_id_taken(conn, project_id, external_id):
            raise errors.DuplicateOrganizationExternalId()
    settings = _validated_settings({k: v for k, v in fields.items() if k in DEFAULT_SETTINGS})
    if "email_invites" not in settings and any(k in settings for k in AUTH_SETTING_FIELDS):
        settings["email_invites"] = "NOT_ALLOWED"
    validation.validate_mfa_methods(settings)
    metadata = validation.validate_metadata(fields.get("trusted_metadata") or {}, "trusted_metadata")
    now = clock.now()
    return Organization(
        organization_id=new_id("organization", project_id),
        project_id=project_id,
        name=name,
        slug=slug,
        external_id=external_id,
        logo_url=_logo_url(fields.get("organization_logo_url") or ""),
        trusted_metadata=metadata,
        settings={**DEFAULT_SETTINGS, **settings},
        created_at=now,
        updated_at=now,
    )


def free_slug(conn: Connection, project_id: str, name: str) -> str:
    base = validation.slug_from(name)
    slug = base
    while store.slug_taken(conn, project_id, slug):
        slug = f"{base[:115]}-{uuid.uuid4().hex[:8]}"
    return slug


def _logo_url(url: str) -> str:
    if len(url) > LOGO_URL_MAX:
        raise errors.OrganizationLogoUrlTooLong()
    return url


def _validated_settings(settings: dict[str, Any]) -> dict[str, Any]:
    out = validation.validate_settings(settings)
    if "claimed_email_domains" in out:
        out["claimed_email_domains"] = validation.validate_domains(out["claimed_email_domains"])
    for name in ("sso_jit_provisioning_allowed_connections",):
        if out.get(name):
            # Tenantry has no SSO connections, so no connection id can be valid.
            raise errors.InvalidArgument(f"{name}: no such SSO connection in this organization.")
    return out


def create(conn: Connection, clock: Clock, *, project_id: str, fields: dict[str, Any]) -> Organization:
    name = fields.get("organization_name")
    if not name:
        raise errors.OrganizationNameMissing()
    org = build_organization(conn, clock, project_id=project_id, name=name, fields=fields)
    try:
        with conn.begin_nested():
            store.insert(conn, org)
    except IntegrityError:
        raise errors.OrganizationSlugAlreadyUsed() from None
    return org


# -- reads ---------------------------------------------------------------------------------------


def get(conn: Connection, *, project_id: str, reference: str) -> Organization:
    """By organization id, slug or external id; 404 ``organization_not_found``."""
    org = store.get_by_reference(conn, project_id, reference)
    if org is None:
        raise errors.OrganizationNotFound()
    return org


def _target(conn: Connection, project_id: str, reference: str, actor: ActingMember | None) -> Organization:
    org = get(conn, project_id=project_id, reference=reference)
    if actor is not None and actor.organization.organization_id != org.organization_id:
        raise errors.OrganizationNotFound()
    return org


# -- update --------------------------------------------------------------------------------------


def merge_metadata(current: dict[str, Any], given: dict[str, Any], field: str) -> dict[str, Any]:
    """Stytch's metadata update: top-level keys replace, a null value deletes the key."""
    merged = {**current, **given}
    return validation.validate_metadata({k: v for k, v in merged.items() if v is not None}, field)


def _current_value(org: Organization, name: str) -> Any:
    direct = {
        "organization_name": org.name,
        "organization_slug": org.slug,
        "organization_logo_url": org.logo_url,
        "organization_external_id": org.external_id,
        "trusted_metadata": org.trusted_metadata,
        "sso_default_connection_id": "",
    }
    if name in direct:
        return direct[name]
    return org.setting(name) if name in DEFAULT_SETTINGS else None


def update(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    reference: str,
    fields: dict[str, Any],
    actor: ActingMember | None,
) -> Organization:
    org = _target(conn, project_id, reference, actor)
    if actor is not None:
        if "trusted_metadata" in fields:
            raise errors.CannotUpdateTrustedMetadata()
        for name, value in fields.items():
            if value == _current_value(org, name):
                continue
            # Fields without a published action (external id, claimed domains, connected apps)
            # stay with the project secret.
            action = FIELD_ACTIONS.get(name)
            if action is None:
                raise errors.SessionAuthorizationError()
            authorize(actor, organization_id=org.organization_id, resource_id=RESOURCE, action=action)

    values: dict[str, Any] = {}
    if "organization_name" in fields:
        values["name"] = validation.validate_name(fields["organization_name"])
    if "organization_slug" in fields:
        slug = validation.validate_slug(fields["organization_slug"])
        if store.slug_owner(conn, project_id, slug) not in (None, org.organization_id):
            raise errors.OrganizationSlugAlreadyUsed()
        values["slug"] = slug
    if "organization_external_id" in fields:
        external_id = fields["organization_external_id"] or None
        if external_id is not None:
            validation.validate_external_id(external_id)
            if store.external_id_owner(conn, project_id, external_id) not in (None, org.organization_id):
                raise errors.DuplicateOrganizationExternalId()
        values["external_id"] = external_id
    if "organization_logo_url" in fields:
        values["logo_url"] = _logo_url(fields["organization_logo_url"])
    if "trusted_metadata" in fields:
        values["trusted_metadata"] = merge_metadata(
            org.trusted_metadata, fields["trusted_metadata"], "trusted_metadata"
        )
    if fields.get("sso_default_connection_id"):
        raise errors.InvalidArgument("sso_default_connection_id: no such SSO connection in this organization.")
    given_settings = {k: v for k, v in fields.items() if k in DEFAULT_SETTINGS}
    settings = {**org.settings, **_validated_settings(given_settings)}
    validation.validate_mfa_methods(settings)
    if settings != org.settings:
        values["settings"] = settings
    if not values:
        return org
    values["updated_at"] = clock.now()
    try:
        with conn.begin_nested():
            store.update(conn, project_id, org.organization_id, values)
            if "email_allowed_domains" in given_settings:
                store.replace_domains(conn, project_id, org.organization_id, settings["email_allowed_domains"])
            if "claimed_email_domains" in given_settings:
                store.replace_claimed_domains(conn, project_id, org.organization_id, settings["claimed_email_domains"])
    except IntegrityError:
        # Lost a race for the slug or external id against a concurrent update.
        raise errors.OrganizationSlugAlreadyUsed() from None
    updated = store.get(conn, project_id, org.organization_id)
    assert updated is not None
    return updated


# -- delete --------------------------------------------------------------------------------------


def delete(conn: Connection, *, project_id: str, reference: str, actor: ActingMember | None) -> str:
    """Delete the organization, its members and their sessions (which stop working at once)."""
    org = _target(conn, project_id, reference, actor)
    authorize(actor, organization_id=org.organization_id, resource_id=RESOURCE, action="delete")
    store.delete(conn, project_id, org.organization_id)
    return org.organization_id


# -- search --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    organizations: list[Organization]
    total: int
    next_cursor: str | None


def search(
    conn: Connection, *, project_id: str, query: dict[str, Any] | None, cursor: str | None, limit: int | None
) -> Page:
    where = condition(project_id, parse_query(query, error_prefix="organization_search"))
    size = page_limit(limit)
    rows = store.search_page(conn, where, after=decode_cursor(cursor), limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, store.count(conn, where), encode_cursor(rows[-1].organization_id) if more else None)
