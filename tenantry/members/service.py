"""Members through the API: create, get, update, delete, reactivate, search, dangerously_get.

With an acting member (``X-Stytch-Member-Session`` headers) each change needs its
``stytch.member`` action, or the same action on ``stytch.self`` where Stytch allows members to
change themselves; a member of another organization is answered as if nothing existed there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tenantry import errors
from tenantry.clock import Clock
from tenantry.members import store
from tenantry.members.emails import normalise_email
from tenantry.members.models import ACTIVE, DELETED, PENDING, Member, new_member
from tenantry.members.search import condition
from tenantry.organizations import service as organizations_service
from tenantry.organizations import store as organizations
from tenantry.organizations import validation
from tenantry.organizations.models import Organization
from tenantry.rbac.acting_member import ActingMember, authorize
from tenantry.rbac.policy import validate_roles
from tenantry.search import decode_cursor, encode_cursor, page_limit, parse_query
from tenantry.sessions import service as sessions
from tenantry.sms.phone import normalise_phone

MEMBER = "stytch.member"
SELF = "stytch.self"
NAME_MAX = 256

# Update field -> (stytch.member action, whether the same action on stytch.self lets a member
# change it on themselves).
FIELD_ACTIONS: dict[str, tuple[str, bool]] = {
    "name": ("update.info.name", True),
    "untrusted_metadata": ("update.info.untrusted-metadata", True),
    "is_breakglass": ("update.settings.is-breakglass", False),
    "roles": ("update.settings.roles", False),
    "mfa_phone_number": ("update.info.mfa-phone", True),
    "mfa_enrolled": ("update.settings.mfa-enrolled", True),
    "default_mfa_method": ("update.settings.default-mfa-method", True),
}
# Fields Tenantry does not store (no passwords, no email changes yet): refused, not dropped.
UNSUPPORTED_FIELDS = ("email_address", "unlink_email")
MFA_METHODS = ("sms_otp", "totp")


def _organization(conn: Connection, project_id: str, reference: str, actor: ActingMember | None) -> Organization:
    org = organizations.get_by_reference(conn, project_id, reference)
    if org is None or (actor is not None and actor.organization.organization_id != org.organization_id):
        raise errors.OrganizationNotFound()
    return org


def _member(conn: Connection, org: Organization, reference: str, *, deleted_ok: bool = False) -> Member:
    member = store.get_in_organization(conn, org.project_id, org.organization_id, reference)
    if member is None or (member.status == DELETED and not deleted_ok):
        raise errors.MemberNotFound()
    return member


def _name(name: str) -> str:
    if len(name) > NAME_MAX:
        raise errors.InvalidArgument(f"name may be at most {NAME_MAX} characters.")
    return name


def _external_id(conn: Connection, org: Organization, external_id: str, member_id: str | None) -> str:
    validation.validate_external_id(external_id)
    if store.external_id_owner(conn, org.project_id, org.organization_id, external_id) not in (None, member_id):
        raise errors.DuplicateMemberExternalId()
    return external_id


def _refuse_unsupported(fields: dict[str, Any], names: tuple[str, ...] = UNSUPPORTED_FIELDS) -> None:
    for name in names:
        if fields.get(name):
            raise errors.InvalidArgument(f"{name} is not supported by this server.")


def _default_mfa_method(member: Member, method: str) -> str:
    """Only a method the member has an active factor of may be their default."""
    if method not in MFA_METHODS:
        raise errors.InvalidMfaDefaultMethod()
    has_factor = member.totp_registration_id if method == "totp" else member.mfa_phone_number
    if not has_factor:
        raise errors.DefaultMfaMemberMissingFactor()
    return method


# -- create / get --------------------------------------------------------------------------------


def create(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    fields: dict[str, Any],
    actor: ActingMember | None,
) -> tuple[Member, Organization]:
    org = _organization(conn, project_id, organization_reference, actor)
    authorize(actor, organization_id=org.organization_id, resource_id=MEMBER, action="create")
    if actor is not None and "trusted_metadata" in fields:
        raise errors.CannotUpdateTrustedMetadata()
    phone = normalise_phone(fields["mfa_phone_number"]) if fields.get("mfa_phone_number") else ""
    email = normalise_email(fields["email_address"])
    if store.get_by_email(conn, project_id, org.organization_id, email) is not None:
        # A deleted member with this email comes back through reactivation, not creation.
        raise errors.DuplicateMemberEmail()
    roles = validate_roles(org, fields.get("roles") or [])
    external_id = fields.get("external_id")
    if external_id is not None:
        _external_id(conn, org, external_id, None)
    now = clock.now()
    member = new_member(
        project_id=project_id,
        organization_id=org.organization_id,
        email_address=email,
        status=PENDING if fields.get("create_member_as_pending") else ACTIVE,
        email_verified=False,
        now=now,
        roles=roles,
        name=_name(fields.get("name") or ""),
        trusted_metadata=validation.validate_metadata(fields.get("trusted_metadata") or {}, "trusted_metadata"),
        untrusted_metadata=validation.validate_metadata(fields.get("untrusted_metadata") or {}, "untrusted_metadata"),
        is_breakglass=bool(fields.get("is_breakglass", False)),
        external_id=external_id,
        mfa_enrolled=bool(fields.get("mfa_enrolled", False)),
    )
    # A phone given here is the member's MFA phone, unverified until an SMS code proves it.
    member = replace(member, mfa_phone_number=phone)
    try:
        with conn.begin_nested():
            store.insert(conn, member)
    except IntegrityError:
        # A concurrent create with the same email (or external id) won.
        raise errors.DuplicateMemberEmail() from None
    return member, org


def get(
    conn: Connection,
    *,
    project_id: str,
    organization_reference: str,
    member_id: str | None,
    email_address: str | None,
) -> tuple[Member, Organization]:
    org = _organization(conn, project_id, organization_reference, None)
    if member_id:
        return _member(conn, org, member_id), org
    if email_address:
        member = store.get_by_email(conn, project_id, org.organization_id, email_address.strip().lower())
        if member is None or member.status == DELETED:
            raise errors.MemberNotFound()
        return member, org
    raise errors.InvalidMemberGetFields()


def dangerously_get(
    conn: Connection, *, project_id: str, member_id: str, include_deleted: bool
) -> tuple[Member, Organization]:
    member = store.get(conn, project_id, member_id)
    if member is None or (member.status == DELETED and not include_deleted):
        raise errors.MemberNotFound()
    org = organizations.get(conn, project_id, member.organization_id)
    if org is None:
        raise errors.MemberNotFound()
    return member, org


# -- update / delete / reactivate ----------------------------------------------------------------


def _authorize_field(actor: ActingMember | None, org: Organization, member: Member, field: str) -> None:
    if actor is None:
        return
    entry = FIELD_ACTIONS.get(field)
    if entry is None:
        raise errors.SessionAuthorizationError()
    action, self_allowed = entry
    if self_allowed and actor.member.member_id == member.member_id and actor.may(SELF, action):
        return
    authorize(actor, organization_id=org.organization_id, resource_id=MEMBER, action=action)


def update(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    fields: dict[str, Any],
    actor: ActingMember | None,
) -> tuple[Member, Organization]:
    org = _organization(conn, project_id, organization_reference, actor)
    member = _member(conn, org, member_reference)
    if actor is not None and "trusted_metadata" in fields:
        raise errors.CannotUpdateTrustedMetadata()
    _refuse_unsupported(fields)
    current = {
        "name": member.name,
        "untrusted_metadata": member.untrusted_metadata,
        "is_breakglass": member.is_breakglass,
        "roles": member.roles,
        "external_id": member.external_id,
        "mfa_phone_number": member.mfa_phone_number,
        "mfa_enrolled": member.mfa_enrolled,
        "default_mfa_method": member.default_mfa_method,
    }
    for name in current:
        if name in fields and fields[name] != current[name]:
            _authorize_field(actor, org, member, name)

    values: dict[str, Any] = {}
    if "name" in fields:
        values["name"] = _name(fields["name"])
    if "trusted_metadata" in fields:
        values["trusted_metadata"] = organizations_service.merge_metadata(
            member.trusted_metadata, fields["trusted_metadata"], "trusted_metadata"
        )
    if "untrusted_metadata" in fields:
        values["untrusted_metadata"] = organizations_service.merge_metadata(
            member.untrusted_metadata, fields["untrusted_metadata"], "untrusted_metadata"
        )
    if "is_breakglass" in fields:
        values["is_breakglass"] = fields["is_breakglass"]
    if "roles" in fields:
        values["roles"] = validate_roles(org, fields["roles"])
    if "external_id" in fields:
        given = fields["external_id"]
        values["external_id"] = _external_id(conn, org, given, member.member_id) if given else None
    values.update(_mfa_changes(member, fields))
    if values:
        values["updated_at"] = clock.now()
        try:
            with conn.begin_nested():
                store.change(conn, project_id, member.member_id, values)
        except IntegrityError:
            raise errors.DuplicateMemberExternalId() from None
    updated = store.get(conn, project_id, member.member_id)
    assert updated is not None
    return updated, org


def _mfa_changes(member: Member, fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if fields.get("mfa_phone_number"):
        phone = normalise_phone(fields["mfa_phone_number"])
        if member.mfa_phone_number and phone != member.mfa_phone_number:
            # Stytch: a member's number is replaced only after deleting the current one.
            raise errors.DuplicateMemberPhoneNumberForMember()
        if phone != member.mfa_phone_number:
            values.update(mfa_phone_number=phone, mfa_phone_number_verified=False)
    if "mfa_enrolled" in fields:
        values["mfa_enrolled"] = fields["mfa_enrolled"]
    if fields.get("default_mfa_method"):
        values["default_mfa_method"] = _default_mfa_method(member, fields["default_mfa_method"])
    return values


def delete(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    actor: ActingMember | None,
) -> str:
    """Mark the member deleted and revoke their sessions in the same transaction."""
    org = _organization(conn, project_id, organization_reference, actor)
    member = _member(conn, org, member_reference)
    if not (actor is not None and actor.member.member_id == member.member_id and actor.may(SELF, "delete")):
        authorize(actor, organization_id=org.organization_id, resource_id=MEMBER, action="delete")
    store.change(conn, project_id, member.member_id, {"status": DELETED, "updated_at": clock.now()})
    sessions.revoke_sessions_of_member(conn, clock, member.member_id)
    return member.member_id


def reactivate(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    organization_reference: str,
    member_reference: str,
    actor: ActingMember | None,
) -> tuple[Member, Organization]:
    org = _organization(conn, project_id, organization_reference, actor)
    # Stytch names no action for reactivation; bringing a member back is treated as creating one.
    authorize(actor, organization_id=org.organization_id, resource_id=MEMBER, action="create")
    member = _member(conn, org, member_reference, deleted_ok=True)
    if member.status != DELETED:
        raise errors.NoDeletedMemberFoundForReactivation()
    if not member.email_verified:
        raise errors.EmailUnverifiedForReactivation()
    store.change(conn, project_id, member.member_id, {"status": ACTIVE, "updated_at": clock.now()})
    updated = store.get(conn, project_id, member.member_id)
    assert updated is not None
    return updated, org


# -- search --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    members: list[Member]
    organizations: dict[str, Organization]
    total: int
    next_cursor: str | None


def search(
    conn: Connection,
    *,
    project_id: str,
    organization_ids: list[str],
    query: dict[str, Any] | None,
    cursor: str | None,
    limit: int | None,
    actor: ActingMember | None,
) -> Page:
    if not organization_ids:
        raise errors.MemberSearchOrganizationIdsEmpty()
    if actor is not None:
        for organization_id in set(organization_ids):
            authorize(actor, organization_id=organization_id, resource_id=MEMBER, action="search")
    where = condition(project_id, list(set(organization_ids)), parse_query(query, error_prefix="member_search"))
    size = page_limit(limit)
    rows = store.search_page(conn, where, after=decode_cursor(cursor), limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    orgs = organizations.get_many(conn, project_id, (m.organization_id for m in rows))
    return Page(rows, orgs, store.count(conn, where), encode_cursor(rows[-1].member_id) if more else None)
