"""Members API (create, get, update, delete, reactivate, search, dangerously_get) through a real
server and the official Python SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from organizations.helpers import admin_of_new_org, as_member, error_of, member_session
from stytch.b2b.models.organizations_members import (
    CreateRequestOptions,
    DeleteRequestOptions,
    SearchRequestOptions,
    UpdateRequestOptions,
)
from stytch.core.response_base import StytchError


def test_member_crud_round_trip(server, stytch_client):
    org = stytch_client.organizations.create(organization_name="Clinic", organization_slug="clinic").organization
    members = stytch_client.organizations.members
    created = members.create(
        organization_id=org.organization_id,
        email_address="Nurse@Clinic.com",
        name="Nurse Joy",
        roles=["stytch_admin"],
        untrusted_metadata={"shift": "night"},
        create_member_as_pending=True,
        external_id="nurse-1",
    )
    m = created.member
    assert created.member_id == m.member_id and m.member_id.startswith("member-test-")
    assert (m.email_address, m.name, m.status) == ("nurse@clinic.com", "Nurse Joy", "pending")
    assert m.is_admin is True and {r.role_id for r in m.roles} == {"stytch_member", "stytch_admin"}
    assert created.organization.organization_id == org.organization_id

    by_id = members.get(organization_id=org.organization_id, member_id=m.member_id).member
    by_email = members.get(organization_id=org.organization_id, email_address="nurse@clinic.com").member
    assert by_id.member_id == by_email.member_id == m.member_id
    with pytest.raises(StytchError) as neither:
        members.get(organization_id=org.organization_id)
    assert error_of(neither) == (400, "invalid_member_get_fields")

    for roles, expected in (
        (["no_such_role"], "invalid_rbac_role_id"),
        (["stytch_member"], "cannot_assign_default_rbac_role_id"),
    ):
        with pytest.raises(StytchError) as bad_role:
            members.create(organization_id=org.organization_id, email_address="x@clinic.com", roles=roles)
        assert error_of(bad_role) == (400, expected)
    with pytest.raises(StytchError) as dup:
        members.create(organization_id=org.organization_id, email_address="nurse@clinic.com")
    assert error_of(dup) == (400, "duplicate_member_email")

    updated = members.update(
        organization_id=org.organization_id,
        member_id=m.member_id,
        name="Joy",
        roles=[],
        untrusted_metadata={"ward": 3},
        is_breakglass=True,
    ).member
    assert (updated.name, updated.is_admin, updated.is_breakglass) == ("Joy", False, True)
    assert [r.role_id for r in updated.roles] == ["stytch_member"]
    assert updated.untrusted_metadata == {"shift": "night", "ward": 3}

    assert members.delete(organization_id=org.organization_id, member_id=m.member_id).member_id == m.member_id
    with pytest.raises(StytchError) as gone:
        members.get(organization_id=org.organization_id, member_id=m.member_id)
    assert error_of(gone) == (404, "member_not_found")
    assert members.dangerously_get(member_id=m.member_id, include_deleted=True).member.status == "deleted"
    # Never verified their email, so Stytch refuses to reactivate them.
    with pytest.raises(StytchError) as unverified:
        members.reactivate(organization_id=org.organization_id, member_id=m.member_id)
    assert error_of(unverified) == (400, "email_unverified_for_reactivation")


def test_search_pagination_and_filters(server, stytch_client):
    org = stytch_client.organizations.create(organization_name="Big", organization_slug="big").organization
    other = stytch_client.organizations.create(organization_name="Other", organization_slug="other-org").organization
    members = stytch_client.organizations.members
    ids = {
        members.create(organization_id=org.organization_id, email_address=f"user{i}@big.org").member_id
        for i in range(7)
    }
    members.create(organization_id=other.organization_id, email_address="user0@other.org")
    deleted = members.create(organization_id=org.organization_id, email_address="gone@big.org").member_id
    members.delete(organization_id=org.organization_id, member_id=deleted)

    seen: list[str] = []
    cursor = None
    while True:
        page = members.search(organization_ids=[org.organization_id], limit=3, cursor=cursor)
        assert page.results_metadata.total == 7  # deleted members are left out
        assert set(page.organizations) == {org.organization_id}
        seen += [m.member_id for m in page.members]
        cursor = page.results_metadata.next_cursor
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == ids

    def emails(query: dict) -> set[str]:
        found = members.search(organization_ids=[org.organization_id, other.organization_id], query=query).members
        return {m.email_address for m in found}

    fuzzy = {"operator": "AND", "operands": [{"filter_name": "member_email_fuzzy", "filter_value": "USER0"}]}
    assert emails(fuzzy) == {"user0@big.org", "user0@other.org"}
    statuses = {"operator": "AND", "operands": [{"filter_name": "statuses", "filter_value": ["deleted"]}]}
    assert emails(statuses) == {"gone@big.org"}
    with pytest.raises(StytchError) as unknown:
        members.search(
            organization_ids=[org.organization_id],
            query={"operator": "AND", "operands": [{"filter_name": "shoe_size", "filter_value": 9}]},
        )
    assert error_of(unknown) == (400, "member_search_filter_name_not_recognized")
    with pytest.raises(StytchError) as empty:
        members.search(organization_ids=[])
    assert error_of(empty) == (400, "member_search_organization_ids_empty")


def test_rbac_self_service_role_changes_and_deletion(server, stytch_client):
    members = stytch_client.organizations.members
    admin = admin_of_new_org(server, stytch_client, "boss@alpha.com", "alpha")
    org_id = admin.organization.organization_id
    staff_id = members.create(organization_id=org_id, email_address="staff@alpha.com").member_id
    staff = member_session(server, stytch_client, "staff@alpha.com", org_id)

    # A plain member may not create members (403, nothing created) nor change their own roles ...
    with pytest.raises(StytchError) as denied:
        members.create(
            organization_id=org_id,
            email_address="new@alpha.com",
            method_options=as_member(CreateRequestOptions, staff.session_token),
        )
    assert error_of(denied) == (403, "session_authorization_error")
    with pytest.raises(StytchError) as missing:
        members.get(organization_id=org_id, email_address="new@alpha.com")
    assert error_of(missing) == (404, "member_not_found")
    with pytest.raises(StytchError) as no_roles:
        members.update(
            organization_id=org_id,
            member_id=staff_id,
            roles=["stytch_admin"],
            method_options=as_member(UpdateRequestOptions, staff.session_token),
        )
    assert error_of(no_roles) == (403, "session_authorization_error")
    with pytest.raises(StytchError) as no_search:
        members.search(organization_ids=[org_id], method_options=as_member(SearchRequestOptions, staff.session_token))
    assert error_of(no_search) == (403, "session_authorization_error")
    # ... but may rename themselves (stytch.self), not the admin.
    own = members.update(
        organization_id=org_id,
        member_id=staff_id,
        name="Staff",
        method_options=as_member(UpdateRequestOptions, staff.session_token),
    )
    assert own.member.name == "Staff"
    with pytest.raises(StytchError) as not_self:
        members.update(
            organization_id=org_id,
            member_id=admin.member_id,
            name="Pwned",
            method_options=as_member(UpdateRequestOptions, staff.session_token),
        )
    assert error_of(not_self) == (403, "session_authorization_error")

    # The admin promotes them; the next sessions.authenticate carries the new role.
    members.update(
        organization_id=org_id,
        member_id=staff_id,
        roles=["stytch_admin"],
        method_options=as_member(UpdateRequestOptions, admin.session_token),
    )
    assert "stytch_admin" in stytch_client.sessions.authenticate(session_token=staff.session_token).member_session.roles

    # An admin of another organization gets 404 and changes nothing.
    beta = admin_of_new_org(server, stytch_client, "boss@beta.com", "beta")
    with pytest.raises(StytchError) as foreign:
        members.delete(
            organization_id=org_id,
            member_id=staff_id,
            method_options=as_member(DeleteRequestOptions, beta.session_token),
        )
    assert error_of(foreign) == (404, "organization_not_found")
    with pytest.raises(StytchError) as foreign_search:
        members.search(organization_ids=[org_id], method_options=as_member(SearchRequestOptions, beta.session_token))
    assert error_of(foreign_search) == (404, "organization_not_found")
    assert members.get(organization_id=org_id, member_id=staff_id).member.status == "active"

    # Deleting a member revokes their sessions at once.
    members.delete(
        organization_id=org_id, member_id=staff_id, method_options=as_member(DeleteRequestOptions, admin.session_token)
    )
    with pytest.raises(StytchError) as revoked:
        stytch_client.sessions.authenticate(session_token=staff.session_token)
    assert error_of(revoked) == (404, "session_not_found")

    # The admin (verified by their magic link) can be deleted and reactivated by the project.
    members.delete(organization_id=org_id, member_id=admin.member_id)
    back = members.reactivate(organization_id=org_id, member_id=admin.member_id)
    assert back.member.status == "active"
    with pytest.raises(StytchError) as not_deleted:
        members.reactivate(organization_id=org_id, member_id=admin.member_id)
    assert error_of(not_deleted) == (400, "no_deleted_member_found_for_reactivation")
