"""Stytch's documented B2B sandbox values in test projects, and their absence in live ones.

The official Python SDK makes every call, so each answer is also parsed by Stytch's own strict
models. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.rbac_local import RBACPermissionError

SANDBOX_EMAIL = "sandbox@stytch.com"
SANDBOX_ORG = "organization-test-007d9d4a-deac-4a87-ba0a-e6e8afba4d4b"
TOKEN_200 = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="
TOKEN_401 = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU="
TOKEN_404 = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="
REDIRECT_URL = "http://localhost:3000/authenticate"


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type


def rows(database_url: str, sql: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def live_project(server: Any) -> tuple[str, str]:
    args = [sys.executable, "-m", "tenantry", "projects", "create", "--name", "Live", "--live", "--json"]
    args += ["--redirect-url", REDIRECT_URL, "--database-url", server.database_url]
    proc = subprocess.run(args, capture_output=True, text=True, env=server.env(), cwd=server.workdir, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["project_id"].startswith("project-live-")
    return data["project_id"], data["secret"]


def test_sandbox_sends_answer_200_and_send_nothing(server, stytch_client):
    sent = stytch_client.magic_links.email.discovery.send(email_address=SANDBOX_EMAIL)
    assert sent.status_code == 200

    login = stytch_client.magic_links.email.login_or_signup(organization_id=SANDBOX_ORG, email_address=SANDBOX_EMAIL)
    assert login.status_code == 200
    assert login.organization.organization_id == SANDBOX_ORG
    assert login.member.email_address == SANDBOX_EMAIL and login.member.organization_id == SANDBOX_ORG
    assert login.member_id == login.member.member_id and login.member_id.startswith("member-test-")
    assert login.member_created is False

    invited = stytch_client.magic_links.email.invite(organization_id=SANDBOX_ORG, email_address=SANDBOX_EMAIL)
    assert invited.status_code == 200
    assert invited.member.status == "invited" and invited.member.email_address == SANDBOX_EMAIL
    assert invited.member_id == login.member_id, "one project's sandbox member is always the same"

    # Requests are still checked: a redirect URL outside the allow-list is refused as usual.
    with pytest.raises(StytchError) as refused:
        stytch_client.magic_links.email.discovery.send(
            email_address=SANDBOX_EMAIL, discovery_redirect_url="https://evil.example/cb"
        )
    assert error_of(refused)[0] == 400

    # Nothing was queued, stored or created for the sandbox address.
    for table in ("outbox", "magic_links"):
        column = "to_address" if table == "outbox" else "email_address"
        assert rows(server.database_url, f"SELECT 1 FROM {table} WHERE {column} = :e", e=SANDBOX_EMAIL) == []
    assert rows(server.database_url, "SELECT 1 FROM organizations WHERE organization_id = :o", o=SANDBOX_ORG) == []


def test_the_three_tokens_at_organization_authenticate(server, stytch_client):
    auth = stytch_client.magic_links.authenticate(magic_links_token=TOKEN_200, session_duration_minutes=60)
    assert auth.status_code == 200
    assert auth.organization_id == SANDBOX_ORG == auth.member_session.organization_id
    assert auth.member.email_address == SANDBOX_EMAIL
    assert auth.member_authenticated is True and auth.session_token and auth.session_jwt
    # As on Stytch, the sandbox session carries no roles.
    assert auth.member_session.roles == []
    (factor,) = auth.member_session.authentication_factors
    assert factor.type == "magic_link" and factor.email_factor.email_address == SANDBOX_EMAIL

    # The JWT verifies locally against the project's JWKS; an authorization check consults the
    # (empty) sandbox organization policy and, with no roles, is refused.
    local = stytch_client.sessions.authenticate_jwt_local(session_jwt=auth.session_jwt)
    assert local is not None and local.member_session_id == auth.member_session.member_session_id
    assert local.roles == [] and local.organization_id == SANDBOX_ORG
    with pytest.raises(RBACPermissionError):
        stytch_client.sessions.authenticate_jwt_local(
            session_jwt=auth.session_jwt,
            authorization_check=AuthorizationCheck(
                organization_id=SANDBOX_ORG, resource_id="stytch.self", action="delete"
            ),
        )

    # The success token is not spent: it answers 200 every time, as on Stytch.
    again = stytch_client.magic_links.authenticate(magic_links_token=TOKEN_200)
    assert again.member_id == auth.member_id and again.session_token != auth.session_token

    with pytest.raises(StytchError) as unable:
        stytch_client.magic_links.authenticate(magic_links_token=TOKEN_401)
    assert error_of(unable) == (401, "unable_to_auth_magic_link")
    with pytest.raises(StytchError) as missing:
        stytch_client.magic_links.authenticate(magic_links_token=TOKEN_404)
    assert error_of(missing) == (404, "magic_link_not_found")


def test_the_three_tokens_at_discovery_authenticate(server, stytch_client):
    found = stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=TOKEN_200)
    assert found.status_code == 200
    assert found.email_address == SANDBOX_EMAIL and found.intermediate_session_token
    assert found.discovered_organizations == []

    # The IST is a real one: the sandbox address can create an organization with it.
    created = stytch_client.discovery.organizations.create(
        intermediate_session_token=found.intermediate_session_token, organization_name="Sandbox Clinic"
    )
    assert created.member.email_address == SANDBOX_EMAIL and created.session_jwt

    with pytest.raises(StytchError) as unable:
        stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=TOKEN_401)
    assert error_of(unable) == (401, "unable_to_auth_magic_link")
    with pytest.raises(StytchError) as missing:
        stytch_client.magic_links.discovery.authenticate(discovery_magic_links_token=TOKEN_404)
    assert error_of(missing) == (404, "magic_link_not_found")


def test_live_projects_have_no_sandbox(server, stytch_client_factory):
    project_id, secret = live_project(server)
    live = stytch_client_factory(server, project_id, secret)

    # The sandbox organization does not exist there, and the tokens are just unknown tokens.
    with pytest.raises(StytchError) as no_org:
        live.magic_links.email.login_or_signup(organization_id=SANDBOX_ORG, email_address=SANDBOX_EMAIL)
    assert error_of(no_org) == (404, "organization_not_found")
    with pytest.raises(StytchError) as no_invite:
        live.magic_links.email.invite(organization_id=SANDBOX_ORG, email_address=SANDBOX_EMAIL)
    assert error_of(no_invite) == (404, "organization_not_found")
    for token in (TOKEN_200, TOKEN_401, TOKEN_404):
        with pytest.raises(StytchError) as org_flow:
            live.magic_links.authenticate(magic_links_token=token)
        assert error_of(org_flow) == (404, "magic_link_not_found")
        with pytest.raises(StytchError) as discovery_flow:
            live.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        assert error_of(discovery_flow) == (404, "magic_link_not_found")
    policy_path = f"/v1/b2b/rbac/organizations/{SANDBOX_ORG}"
    with server.client(auth=(project_id, secret)) as api:
        assert api.get(policy_path).json()["error_type"] == "organization_not_found"
    with server.client() as api:
        assert api.get(policy_path).json()["org_policy"] == {"roles": []}

    # A discovery send to the sandbox address is a real send in a live project.
    assert live.magic_links.email.discovery.send(email_address=SANDBOX_EMAIL).status_code == 200
    mail = server.wait_for_mail(SANDBOX_EMAIL)
    assert mail and mail[0]["links"]
