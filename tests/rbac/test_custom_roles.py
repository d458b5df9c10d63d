"""Organization custom roles: set/get through the official Python SDK, validation, and that
``authorization_check``, the member-session header checks and the SDK's local JWT check all
honour them (each test on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import stytch
from stytch.b2b.models.sessions import AuthorizationCheck, RevokeRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from tenantry.db.schema import members
from tenantry.organizations.models import Organization
from tenantry.rbac.policy import role_exists

REDIRECT_URL = "http://localhost:3000/authenticate"
CONTACT = "contact@clinic.com"
NURSE = "nurse@clinic.com"

CHARGE_NURSE = {
    "role_id": "charge-nurse",
    "description": "Runs a ward shift.",
    "permissions": [
        {"resource_id": "patients", "actions": ["read", "write"]},
        {"resource_id": "stytch.member", "actions": ["revoke-sessions", "search"]},
    ],
}
AUDITOR = {"role_id": "auditor", "description": "", "permissions": [{"resource_id": "audit-log", "actions": ["*"]}]}


def discovery_login(server: Any, client: stytch.B2BClient, email: str) -> Any:
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token)


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def dump(roles: list[Any]) -> list[dict[str, Any]]:
    return [r.model_dump() if hasattr(r, "model_dump") else r for r in roles]


@pytest.fixture
def clinic(server, stytch_client) -> dict[str, Any]:
    auth = discovery_login(server, stytch_client, CONTACT)
    created = stytch_client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name="Clinic",
        organization_slug="clinic",
        organization_external_id="clinic-ext",
        email_allowed_domains=["clinic.com"],
        email_jit_provisioning="RESTRICTED",
    )
    nurse_auth = discovery_login(server, stytch_client, NURSE)
    nurse = stytch_client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=nurse_auth.intermediate_session_token,
        organization_id=created.organization.organization_id,
    )
    assert created.member_authenticated and nurse.member_authenticated
    return {"admin": created, "nurse": nurse, "org_id": created.organization.organization_id}


def set_member_roles(server: Any, member_id: str, roles: list[str]) -> None:
    """The members API belongs to another area; write the explicit roles directly."""
    engine = sa.create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(members.update().where(members.c.member_id == member_id).values(roles=roles))
    engine.dispose()


def check(client: stytch.B2BClient, token: str, org_id: str, resource: str, action: str) -> Any:
    return client.sessions.authenticate(
        session_token=token,
        authorization_check=AuthorizationCheck(organization_id=org_id, resource_id=resource, action=action),
    )


def test_custom_roles_round_trip(server, stytch_client, clinic):
    org_id = clinic["org_id"]
    assert stytch_client.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles == []

    resp = stytch_client.rbac.organizations.set_org_policy(
        organization_id=org_id, org_policy={"roles": [CHARGE_NURSE, AUDITOR]}
    )
    assert resp.status_code == 200
    assert dump(resp.org_policy.roles) == [CHARGE_NURSE, AUDITOR]
    got = stytch_client.rbac.organizations.get_org_policy(organization_id=org_id)
    assert dump(got.org_policy.roles) == [CHARGE_NURSE, AUDITOR]
    # Slug and external id name the organization too.
    assert dump(stytch_client.rbac.organizations.get_org_policy(organization_id="clinic").org_policy.roles) == [
        CHARGE_NURSE,
        AUDITOR,
    ]
    # The organization object carries them.
    authed = stytch_client.sessions.authenticate(session_token=clinic["admin"].session_token)
    assert [r.role_id for r in authed.organization.custom_roles] == ["charge-nurse", "auditor"]

    # Setting replaces the whole list.
    stytch_client.rbac.organizations.set_org_policy(organization_id="clinic-ext", org_policy={"roles": [AUDITOR]})
    assert dump(stytch_client.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles) == [AUDITOR]
    # The project policy is unchanged.
    project_roles = {r.role_id for r in stytch_client.rbac.policy().policy.roles}
    assert project_roles == {"stytch_member", "stytch_admin"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ({"role_id": "stytch_superuser", "description": "", "permissions": []}, "invalid_rbac_role_id"),
        ({"role_id": "stytch_admin", "description": "", "permissions": []}, "invalid_rbac_role_id"),
        ({"role_id": "", "description": "", "permissions": []}, "invalid_rbac_role_id"),
        (
            {"role_id": "x", "description": "", "permissions": [{"resource_id": "stytch.nope", "actions": ["*"]}]},
            "invalid_argument",
        ),
        (
            {
                "role_id": "x",
                "description": "",
                "permissions": [{"resource_id": "stytch.member", "actions": ["fly"]}],
            },
            "invalid_argument",
        ),
        (
            {"role_id": "x", "description": "", "permissions": [{"resource_id": "patients", "actions": []}]},
            "invalid_argument",
        ),
    ],
)
def test_invalid_org_policies_are_refused_and_change_nothing(server, stytch_client, clinic, role, expected):
    org_id = clinic["org_id"]
    stytch_client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [AUDITOR]})
    with pytest.raises(StytchError) as exc:
        stytch_client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [role]})
    assert error_of(exc) == (400, expected)
    assert dump(stytch_client.rbac.organizations.get_org_policy(organization_id=org_id).org_policy.roles) == [AUDITOR]


def test_duplicate_role_ids_and_unknown_organization(server, stytch_client, clinic):
    with pytest.raises(StytchError) as exc:
        stytch_client.rbac.organizations.set_org_policy(
            organization_id=clinic["org_id"], org_policy={"roles": [AUDITOR, AUDITOR]}
        )
    assert error_of(exc) == (400, "invalid_rbac_role_id")
    with pytest.raises(StytchError) as exc:
        stytch_client.rbac.organizations.set_org_policy(organization_id="nowhere", org_policy={"roles": [AUDITOR]})
    assert error_of(exc) == (404, "organization_not_found")


def test_authorization_check_honours_custom_roles_and_sees_changes_on_next_authenticate(server, stytch_client, clinic):
    org_id, nurse = clinic["org_id"], clinic["nurse"]
    stytch_client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [CHARGE_NURSE]})

    # Without the role: denied.
    with pytest.raises(StytchError) as exc:
        check(stytch_client, nurse.session_token, org_id, "patients", "read")
    assert error_of(exc) == (403, "session_authorization_error")

    # Given the role, the very next authenticate grants it and names the granting role.
    set_member_roles(server, nurse.member_id, ["charge-nurse"])
    granted = check(stytch_client, nurse.session_token, org_id, "patients", "read")
    assert granted.verdict.authorized is True
    assert granted.verdict.granting_roles == ["charge-nurse"]
    assert granted.member_session.roles == ["stytch_member", "charge-nurse"]
    with pytest.raises(StytchError) as exc:
        check(stytch_client, nurse.session_token, org_id, "patients", "delete")
    assert error_of(exc) == (403, "session_authorization_error")

    # The SDK's local JWT check fetches the org policy and agrees.
    fresh = stytch.B2BClient(project_id=server.project_id, secret=server.secret, environment=server.base_url)
    local = fresh.sessions.authenticate_jwt_local(
        session_jwt=granted.session_jwt,
        authorization_check=AuthorizationCheck(organization_id=org_id, resource_id="patients", action="write"),
    )
    assert local is not None and local.member_id == nurse.member_id

    # Narrowing the role in the org policy takes effect on the next authenticate.
    narrowed = {**CHARGE_NURSE, "permissions": [{"resource_id": "patients", "actions": ["write"]}]}
    stytch_client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [narrowed]})
    with pytest.raises(StytchError) as exc:
        check(stytch_client, nurse.session_token, org_id, "patients", "read")
    assert error_of(exc) == (403, "session_authorization_error")
    assert check(stytch_client, nurse.session_token, org_id, "patients", "write").verdict.granting_roles == [
        "charge-nurse"
    ]

    # Taking the role away is seen on the next authenticate too.
    set_member_roles(server, nurse.member_id, [])
    with pytest.raises(StytchError) as exc:
        check(stytch_client, nurse.session_token, org_id, "patients", "write")
    assert error_of(exc) == (403, "session_authorization_error")


def test_member_session_header_checks_honour_custom_roles(server, stytch_client, clinic):
    org_id, admin, nurse = clinic["org_id"], clinic["admin"], clinic["nurse"]
    as_nurse = RevokeRequestOptions(authorization=Authorization(session_token=nurse.session_token))
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.revoke(member_id=admin.member_id, method_options=as_nurse)
    assert error_of(exc) == (403, "session_authorization_error")

    stytch_client.rbac.organizations.set_org_policy(organization_id=org_id, org_policy={"roles": [CHARGE_NURSE]})
    set_member_roles(server, nurse.member_id, ["charge-nurse"])
    stytch_client.sessions.revoke(member_id=admin.member_id, method_options=as_nurse)
    with pytest.raises(StytchError) as exc:
        stytch_client.sessions.authenticate(session_token=admin.session_token)
    assert error_of(exc) == (404, "session_not_found")


def test_role_exists_knows_default_and_custom_roles():
    org = Organization(
        organization_id="organization-test-x",
        project_id="project-test-x",
        name="X",
        slug="x",
        external_id=None,
        logo_url="",
        trusted_metadata={},
        settings={},
        created_at=None,  # type: ignore[arg-type]
        updated_at=None,  # type: ignore[arg-type]
        custom_roles=[AUDITOR],
    )
    assert role_exists(org, "stytch_admin") and role_exists(org, "stytch_member")
    assert role_exists(org, "auditor")
    assert not role_exists(org, "charge-nurse")
