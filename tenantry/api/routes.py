"""The one place every API route is mounted."""

from __future__ import annotations

from operator import attrgetter

from starlette.routing import Route

from tenantry.api import discovery, magic_links, models, otps, rbac, sessions, sms
from tenantry.api import members as members_api
from tenantry.api import mfa as mfa_api
from tenantry.api import organizations as organizations_api
from tenantry.api.endpoint import api
from tenantry.ratelimit.rules import SendLimit

# Every route that sends an email or SMS declares it, so it is rate-limited (tenantry.ratelimit).
SENDS_EMAIL = SendLimit(channel="email", recipient=attrgetter("email_address"))
# Without mfa_phone_number the code goes to the member's enrolled number: counted per member.
SENDS_SMS = SendLimit(
    channel="sms",
    recipient=attrgetter("mfa_phone_number"),
    fallback=lambda body: f"{body.organization_id}/{body.member_id}",
)

ROUTES = [
    # First: Starlette tries routes in order, and an application calls this on every page it
    # serves, far more often than anything else. No other route's path can match it.
    Route(
        "/v1/b2b/sessions/authenticate",
        api(sessions.authenticate, models.SessionsAuthenticate, read_mostly=True),
        methods=["POST"],
    ),
    # -- organizations and members ---------------------------------------------------------
    Route(
        "/v1/b2b/organizations",
        api(organizations_api.create, organizations_api.OrganizationCreate),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/organizations/search",
        api(organizations_api.search, organizations_api.OrganizationSearch, write=False),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/organizations/members/search",
        api(members_api.search, members_api.MemberSearch, write=False),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/organizations/members/dangerously_get/{member_id}",
        api(members_api.dangerously_get, write=False),
        methods=["GET"],
    ),
    Route("/v1/b2b/organizations/{organization_id}", api(organizations_api.get, write=False), methods=["GET"]),
    Route(
        "/v1/b2b/organizations/{organization_id}",
        api(organizations_api.update, organizations_api.OrganizationUpdate),
        methods=["PUT"],
    ),
    Route("/v1/b2b/organizations/{organization_id}", api(organizations_api.delete), methods=["DELETE"]),
    Route(
        "/v1/b2b/organizations/{organization_id}/members",
        api(members_api.create, members_api.MemberCreate),
        methods=["POST"],
    ),
    Route("/v1/b2b/organizations/{organization_id}/member", api(members_api.get, write=False), methods=["GET"]),
    Route(
        "/v1/b2b/organizations/{organization_id}/members/{member_id}",
        api(members_api.update, members_api.MemberUpdate),
        methods=["PUT"],
    ),
    Route(
        "/v1/b2b/organizations/{organization_id}/members/{member_id}",
        api(members_api.delete),
        methods=["DELETE"],
    ),
    Route(
        "/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate",
        api(members_api.reactivate),
        methods=["PUT"],
    ),
    Route(
        "/v1/b2b/magic_links/email/discovery/send",
        api(discovery.send, models.DiscoverySend, limit=SENDS_EMAIL),
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
    Route("/v1/b2b/sessions/jwks/{project_id}", sessions.jwks, methods=["GET"]),
    Route(
        "/v1/b2b/magic_links/email/invite",
        api(magic_links.invite, magic_links.Invite, limit=SENDS_EMAIL),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/magic_links/email/login_or_signup",
        api(magic_links.login_or_signup, magic_links.LoginOrSignup, limit=SENDS_EMAIL),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/magic_links/authenticate",
        api(magic_links.authenticate, magic_links.Authenticate),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/otps/email/discovery/send",
        api(otps.discovery_send, otps.DiscoverySend, limit=SENDS_EMAIL),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/otps/email/discovery/authenticate",
        api(otps.discovery_authenticate, otps.DiscoveryAuthenticate, prepare=otps.discovery_attempt),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/otps/email/login_or_signup",
        api(otps.login_or_signup, otps.LoginOrSignup, limit=SENDS_EMAIL),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/otps/email/authenticate",
        api(otps.authenticate, otps.Authenticate, prepare=otps.attempt),
        methods=["POST"],
    ),
    # -- MFA: TOTP, recovery codes --------------------------------------------------------
    Route("/v1/b2b/totp", api(mfa_api.create_totp, mfa_api.TotpCreate), methods=["POST"]),
    Route(
        "/v1/b2b/totp/authenticate",
        api(mfa_api.authenticate_totp, mfa_api.TotpAuthenticate, prepare=mfa_api.count_totp_attempt),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/recovery_codes/rotate",
        api(mfa_api.rotate_recovery_codes, mfa_api.RecoveryCodesRotate),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/recovery_codes/recover",
        api(mfa_api.recover, mfa_api.RecoveryCodesRecover, prepare=mfa_api.count_recovery_attempt),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/recovery_codes/{organization_id}/{member_id}",
        api(mfa_api.get_recovery_codes, write=False),
        methods=["GET"],
    ),
    Route(
        "/v1/b2b/organizations/{organization_id}/members/{member_id}/totp",
        api(mfa_api.delete_totp),
        methods=["DELETE"],
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
    # -- SMS OTP (a second factor) -----------------------------------------------------------
    Route("/v1/b2b/otps/sms/send", api(sms.send, sms.Send, limit=SENDS_SMS), methods=["POST"]),
    Route(
        "/v1/b2b/otps/sms/authenticate",
        api(sms.authenticate, sms.Authenticate, prepare=sms.attempt),
        methods=["POST"],
    ),
    Route(
        "/v1/b2b/organizations/{organization_id}/members/mfa_phone_numbers/{member_id}",
        api(sms.delete_phone_number),
        methods=["DELETE"],
    ),
]
