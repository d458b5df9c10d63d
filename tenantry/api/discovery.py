"""Discovery routes: magic-link discovery, list, create, exchange."""

from __future__ import annotations

from typing import Any

from tenantry.api import models, wire
from tenantry.api.endpoint import Call
from tenantry.discovery import service as discovery
from tenantry.discovery.models import AuthOutcome
from tenantry.rbac.policy import session_roles


def send(call: Call, body: models.DiscoverySend) -> dict[str, Any]:
    discovery.send_discovery_link(
        call.conn,
        call.runtime.clock,
        project=call.project,
        email_address=body.email_address,
        redirect_url=body.discovery_redirect_url,
        expiration_minutes=body.discovery_expiration_minutes,
        pkce_code_challenge=body.pkce_code_challenge,
        locale=body.locale,
        mail_domain=call.runtime.mail_domain,
        public_url=call.runtime.settings.public_url,
    )
    return {}


def authenticate(call: Call, body: models.DiscoveryAuthenticate) -> dict[str, Any]:
    token, ist, found = discovery.authenticate_discovery_link(
        call.conn,
        call.runtime.clock,
        project=call.project,
        token=body.discovery_magic_links_token,
        pkce_code_verifier=body.pkce_code_verifier,
    )
    return {
        "intermediate_session_token": token,
        "email_address": ist.email_address,
        "discovered_organizations": [wire.discovered(f) for f in found],
    }


def list_organizations(call: Call, body: models.DiscoveryList) -> dict[str, Any]:
    email, found, hint = discovery.list_organizations(
        call.conn,
        call.runtime.clock,
        project=call.project,
        intermediate_session_token=body.intermediate_session_token,
        session_token=body.session_token,
        session_jwt=body.session_jwt,
    )
    response: dict[str, Any] = {
        "email_address": email,
        "discovered_organizations": [wire.discovered(f) for f in found],
    }
    if hint is not None:
        response["organization_id_hint"] = hint
    return response


def _outcome(outcome: AuthOutcome) -> dict[str, Any]:
    return wire.auth_outcome(outcome, session_roles(outcome.member.roles))


def create(call: Call, body: models.DiscoveryCreate) -> dict[str, Any]:
    fields = body.model_dump(
        exclude_none=True,
        exclude={
            "intermediate_session_token",
            "session_duration_minutes",
            "session_custom_claims",
            "telemetry_id",
        },
    )
    return _outcome(
        discovery.create_organization(
            call.conn,
            call.runtime.clock,
            project=call.project,
            intermediate_session_token=body.intermediate_session_token,
            fields=fields,
            session_duration_minutes=body.session_duration_minutes,
            session_custom_claims=body.session_custom_claims,
        )
    )


def exchange(call: Call, body: models.IntermediateSessionExchange) -> dict[str, Any]:
    return _outcome(
        discovery.exchange_intermediate_session(
            call.conn,
            call.runtime.clock,
            project=call.project,
            intermediate_session_token=body.intermediate_session_token,
            organization_reference=body.organization_id,
            session_duration_minutes=body.session_duration_minutes,
            session_custom_claims=body.session_custom_claims,
            locale=body.locale,
        )
    )
