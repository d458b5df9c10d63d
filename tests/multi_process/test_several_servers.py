"""Several server processes on one database behave as one server: any of them can finish a
flow another one started, and their delivery loops never send a message twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from stytch.b2b.models.sessions import AuthorizationCheck

from tenantry.db.engine import create_engine


def _two_servers(server_factory: Callable[..., Any]) -> tuple[Any, Any]:
    first = server_factory()
    second = server_factory(env={"TENANTRY_DEV_MAILBOX_DIR": str(first.mailbox_dir)})
    return first, second


def test_a_flow_started_on_one_process_finishes_on_another(
    server_factory: Callable[..., Any], stytch_client_factory: Callable[..., Any]
) -> None:
    a, b = _two_servers(server_factory)
    client_a = stytch_client_factory(a)
    client_b = stytch_client_factory(b)

    client_a.magic_links.email.discovery.send(email_address="contact@clinic.com")
    token = a.latest_link_token("contact@clinic.com")
    authenticated = client_b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    created = client_a.discovery.organizations.create(
        intermediate_session_token=authenticated.intermediate_session_token,
        organization_name="Shared Clinic",
        organization_slug="shared-clinic",
    )
    org_id = created.organization.organization_id

    # The session minted by A authenticates on B, and B's JWKS verifies A's JWT.
    on_b = client_b.sessions.authenticate(session_token=created.session_token)
    assert on_b.member.member_id == created.member_id
    local = client_b.sessions.authenticate_jwt_local(
        session_jwt=created.session_jwt,
        authorization_check=AuthorizationCheck(organization_id=org_id, resource_id="stytch.member", action="create"),
    )
    assert local is not None and local.organization_id == org_id

    # A single-use token spent on A is spent for B too.
    again = b.client().post("/v1/b2b/magic_links/discovery/authenticate", json={"discovery_magic_links_token": token})
    assert again.status_code == 401
    assert again.json()["error_type"] == "unable_to_auth_magic_link"


def test_two_delivery_loops_send_each_message_once(server_factory: Callable[..., Any]) -> None:
    a, b = _two_servers(server_factory)
    emails = [f"person{i}@clinic.com" for i in range(12)]
    for i, email in enumerate(emails):
        srv = a if i % 2 == 0 else b
        response = srv.client().post("/v1/b2b/magic_links/email/discovery/send", json={"email_address": email})
        assert response.status_code == 200, response.text
    for email in emails:
        assert len(a.wait_for_mail(email)) == 1

    engine = create_engine(a.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT status, attempts FROM outbox")).all()
    finally:
        engine.dispose()
    assert len(rows) == len(emails)
    # attempts counts claims: a message claimed by both loops would show 2.
    assert {(status, attempts) for status, attempts in rows} == {("sent", 1)}
