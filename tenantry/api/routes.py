"""The one place every API route is mounted."""

from __future__ import annotations

from starlette.routing import Route

from tenantry.api import discovery, magic_links, models, rbac, sessions
from tenantry.api.endpoint import api

ROUTES = [
    Route(
        "/v1/b2b/magic_links/email/discovery/send",
        api(discovery.send, models.DiscoverySend),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/magic_links/discovery/authenticate",
        api(discovery.authenticate, models.DiscoveryAuthenticate),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/discovery/organizations",
        api(discovery.list_organizations, models.DiscoveryList, write=False),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/discovery/organizations/create",
        api(discovery.create, models.DiscoveryCreate),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/discovery/intermediate_sessions/exchange",
        api(discovery.exchange, models.IntermediateSessionExchange),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/sessions/authenticate",
        api(sessions.authenticate, models.SessionsAuthenticate),
        methods=["POST"],
    ),
    Route("/v1/b2b/sessions/jwks/{project_id}", sessions.jwks, methods=["GET"]),
    Route("/v1/b2b/magic_links/email/invite", api(magic_links.invite, magic_links.Invite), methods=["POST"]),
    Route(
        "/v1/b2b/magic_links/email/login_or_signup",
        api(magic_links.login_or_signup, magic_links.LoginOrSignup),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/magic_links/authenticate",
        api(magic_links.authenticate, magic_links.Authenticate),
        methods=["POST"],
    ),
    Route("/v1/b2b/rbac/policy", api(rbac.policy, write=False), methods=["GET"]),
    Route(
        "/v1/b2b/rbac/organizations/{organization_id}",
        api(rbac.organization_policy, write=False),
        methods=["GET"],
    ),
    Route(
        "/v1/b2b/rbac/organizations/{organization_id}",
        api(rbac.set_organization_policy, rbac.SetOrgPolicy),
        methods=["PUT"],
    ),
    Route("/v1/b2b/sessions", api(sessions.list_sessions, write=False), methods=["GET"]),
    Route("/v1/b2b/sessions/revoke", api(sessions.revoke, sessions.Revoke), methods=["POST"]),
    Route("/v1/b2b/sessions/exchange", api(sessions.exchange, sessions.Exchange), methods=["POST"]),
]
