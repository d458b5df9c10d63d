"""Getting member sessions through the real flows, for the organization and member API tests."""

from __future__ import annotations

from typing import Any

import pytest
import stytch
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

REDIRECT_URL = "http://localhost:3000/authenticate"


def discovery_login(server: Any, client: stytch.B2BClient, email: str) -> Any:
    already = len(server.mailbox(email))
    client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=REDIRECT_URL)
    token = server.latest_link_token(email, count=already + 1)
    return client.magic_links.discovery.authenticate(discovery_magic_links_token=token)


def admin_of_new_org(server: Any, client: stytch.B2BClient, email: str, slug: str) -> Any:
    """``email`` creates organization ``slug`` through discovery: returns the create response
    (the creator is ``stytch_admin`` with a live session)."""
    auth = discovery_login(server, client, email)
    return client.discovery.organizations.create(
        intermediate_session_token=auth.intermediate_session_token,
        organization_name=slug.title(),
        organization_slug=slug,
    )


def member_session(server: Any, client: stytch.B2BClient, email: str, organization_id: str) -> Any:
    """An existing active member of ``organization_id`` logs in: returns the exchange response."""
    auth = discovery_login(server, client, email)
    return client.discovery.intermediate_sessions.exchange(
        intermediate_session_token=auth.intermediate_session_token, organization_id=organization_id
    )


def as_member(options_class: type, session_token: str) -> Any:
    return options_class(authorization=Authorization(session_token=session_token))


def error_of(excinfo: pytest.ExceptionInfo[StytchError]) -> tuple[int, str | None]:
    return excinfo.value.details.status_code, excinfo.value.details.error_type
