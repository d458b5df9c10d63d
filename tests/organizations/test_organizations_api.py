"""Organizations API (create, get, update, delete, search) through a real server and the official
Python SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from stytch.b2b.models.organizations import DeleteRequestOptions, UpdateRequestOptions
from stytch.core.response_base import StytchError

from organizations.helpers import admin_of_new_org, as_member, error_of, member_session


def test_create_get_update_delete_round_trip(server, stytch_client):
    orgs = stytch_client.organizations
    created = orgs.create(
        organization_name="Acme Clinic",
        organization_slug="acme",
        organization_external_id="acme-ext",
        trusted_metadata={"plan": "pro"},
        email_allowed_domains=["acme.org"],
    ).organization
    assert created.organization_id.startswith("organization-test-")
    assert (created.organization_name, created.organization_slug) == ("Acme Clinic", "acme")
    assert created.email_allowed_domains == ["acme.org"]
    # An auth setting was given, so invites default to NOT_ALLOWED (as on Stytch).
    assert created.email_invites == "NOT_ALLOWED"
    assert created.trusted_metadata == {"plan": "pro"}

    # Found by id, slug and external id alike.
    for reference in (created.organization_id, "acme", "acme-ext"):
        assert orgs.get(organization_id=reference).organization.organization_id == created.organization_id

    updated = orgs.update(
        organization_id=created.organization_id,
        organization_name="Acme Health",
        organization_slug="acme-health",
        email_allowed_domains=["acmehealth.org"],
        trusted_metadata={"tier": 2},
    ).organization
    assert (updated.organization_name, updated.organization_slug) == ("Acme Health", "acme-health")
    assert updated.trusted_metadata == {"plan": "pro", "tier": 2}  # top-level keys merge
    assert orgs.get(organization_id="acme-health").organization.organization_name == "Acme Health"
    # organization_domains follows the update: the new domain finds it, the old one no longer does.
    by_domain = {
        "operator": "AND",
        "operands": [{"filter_name": "allowed_domains", "filter_value": ["acmehealth.org"]}],
    }
    assert [o.organization_id for o in orgs.search(query=by_domain).organizations] == [created.organization_id]
    by_domain["operands"][0]["filter_value"] = ["acme.org"]
    assert orgs.search(query=by_domain).organizations == []

    other = orgs.create(organization_name="Other", organization_slug="other").organization
    with pytest.raises(StytchError) as taken:
        orgs.update(organization_id=other.organization_id, organization_slug="acme-health")
    assert error_of(taken) == (400, "organization_slug_already_used")
    with pytest.raises(StytchError) as dup:
        orgs.create(organization_name="Dup", organization_slug="other")
    assert error_of(dup) == (400, "organization_slug_already_used")

    assert orgs.delete(organization_id=created.organization_id).organization_id == created.organization_id
    with pytest.raises(StytchError) as gone:
        orgs.get(organization_id=created.organization_id)
    assert error_of(gone) == (404, "organization_not_found")
    assert orgs.get(organization_id="other").organization.organization_name == "Other"


def test_search_operators_and_cursor_pagination(server, stytch_client):
    orgs = stytch_client.organizations
    ids = set()
    for i in range(7):
        name = f"Northwind Team {i}" if i % 2 == 0 else f"Contoso Group {i}"
        ids.add(orgs.create(organization_name=name, organization_slug=f"slug-{i}").organization.organization_id)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = orgs.search(limit=3, cursor=cursor)
        assert page.results_metadata.total == 7
        assert len(page.organizations) <= 3
        seen += [o.organization_id for o in page.organizations]
        pages += 1
        cursor = page.results_metadata.next_cursor
        if not cursor:
            break
    assert pages == 3 and len(seen) == 7 and set(seen) == ids

    def search(operator: str, *operands: tuple[str, object]) -> set[str]:
        query = {"operator": operator, "operands": [{"filter_name": n, "filter_value": v} for n, v in operands]}
        return {o.organization_slug for o in orgs.search(query=query).organizations}

    assert search("AND", ("organization_name_fuzzy", "NORTHWIND")) == {"slug-0", "slug-2", "slug-4", "slug-6"}
    assert search("AND", ("organization_name_fuzzy", "northwind"), ("organization_slugs", ["slug-2", "slug-3"])) == {
        "slug-2"
    }
    assert search("OR", ("organization_slug_fuzzy", "g-1"), ("organization_slugs", ["slug-2"])) == {"slug-1", "slug-2"}

    with pytest.raises(StytchError) as unknown:
        orgs.search(query={"operator": "AND", "operands": [{"filter_name": "colour", "filter_value": "red"}]})
    assert error_of(unknown) == (400, "organization_search_filter_name_not_recognized")
    with pytest.raises(StytchError) as short:
        orgs.search(
            query={"operator": "AND", "operands": [{"filter_name": "organization_name_fuzzy", "filter_value": "no"}]}
        )
    assert error_of(short) == (400, "organization_search_organization_name_fuzzy_too_short")


def test_rbac_member_session_headers(server, stytch_client):
    orgs = stytch_client.organizations
    admin = admin_of_new_org(server, stytch_client, "boss@alpha.com", "alpha")
    org_id = admin.organization.organization_id
    stytch_client.organizations.members.create(organization_id=org_id, email_address="staff@alpha.com")
    staff = member_session(server, stytch_client, "staff@alpha.com", org_id)
    assert staff.member_session.roles == ["stytch_member"]

    # A plain stytch_member may not rename the organization, nor delete it: 403, nothing changes.
    with pytest.raises(StytchError) as denied:
        orgs.update(
            organization_id=org_id,
            organization_name="Hacked",
            method_options=as_member(UpdateRequestOptions, staff.session_token),
        )
    assert error_of(denied) == (403, "session_authorization_error")
    with pytest.raises(StytchError) as denied_delete:
        orgs.delete(organization_id=org_id, method_options=as_member(DeleteRequestOptions, staff.session_token))
    assert error_of(denied_delete) == (403, "session_authorization_error")
    assert orgs.get(organization_id=org_id).organization.organization_name == "Alpha"

    # trusted_metadata can never be written when acting as a member.
    with pytest.raises(StytchError) as trusted:
        orgs.update(
            organization_id=org_id,
            trusted_metadata={"x": 1},
            method_options=as_member(UpdateRequestOptions, admin.session_token),
        )
    assert error_of(trusted) == (401, "cannot_update_trusted_metadata")

    # The admin may.
    renamed = orgs.update(
        organization_id=org_id,
        organization_name="Alpha Care",
        method_options=as_member(UpdateRequestOptions, admin.session_token),
    )
    assert renamed.organization.organization_name == "Alpha Care"

    # An admin of another organization is answered as if alpha did not exist, and changes nothing.
    beta = admin_of_new_org(server, stytch_client, "boss@beta.com", "beta")
    for call in (
        lambda: orgs.update(
            organization_id=org_id,
            organization_name="Owned",
            method_options=as_member(UpdateRequestOptions, beta.session_token),
        ),
        lambda: orgs.delete(organization_id=org_id, method_options=as_member(DeleteRequestOptions, beta.session_token)),
    ):
        with pytest.raises(StytchError) as foreign:
            call()
        assert error_of(foreign) == (404, "organization_not_found")
    assert orgs.get(organization_id=org_id).organization.organization_name == "Alpha Care"

    # Deleting the organization deletes its members; their sessions stop working at once.
    assert stytch_client.sessions.authenticate(session_token=staff.session_token).member.member_id
    orgs.delete(organization_id=org_id, method_options=as_member(DeleteRequestOptions, admin.session_token))
    for token in (admin.session_token, staff.session_token):
        with pytest.raises(StytchError) as revoked:
            stytch_client.sessions.authenticate(session_token=token)
        assert error_of(revoked) == (404, "session_not_found")
    assert (
        stytch_client.sessions.authenticate(session_token=beta.session_token).organization.organization_slug == "beta"
    )
