"""The catalogue of errors Tenantry returns, each one a Stytch ``error_type``.

    TenantryError                      -> {status_code, request_id, error_type, error_message, error_url}
      +-- BadRequest (400)             malformed JSON, missing or invalid fields, policy refusals
      +-- Unauthorized (401)           bad project credentials, used or expired secrets
      +-- Forbidden (403)              RBAC denials
      +-- NotFound (404)               unknown tokens, sessions, organizations, members
      +-- TooManyRequests (429)
      +-- ServiceUnavailable (503)

Domain code raises these; ``tenantry.api.errors`` renders them. The error_type strings and
statuses are copied from Stytch's published catalogue, never invented, so that application
code branching on ``error_type`` behaves the same against Tenantry and Stytch.
"""

from __future__ import annotations

from typing import ClassVar


class TenantryError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal_server_error"
    error_message: ClassVar[str] = (
        "Oops, something seems to have gone wrong, please reach out to your Tenantry operator."
    )

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.error_message
        super().__init__(self.message)

    @property
    def error_url(self) -> str:
        return f"https://stytch.com/docs/api/errors/{self.status_code}#{self.error_type}"


class BadRequest(TenantryError):
    status_code = 400
    error_type = "bad_request"
    error_message = "The request could not be understood."


class Unauthorized(TenantryError):
    status_code = 401


class Forbidden(TenantryError):
    status_code = 403


class NotFound(TenantryError):
    status_code = 404


class TooManyRequests(TenantryError):
    status_code = 429
    error_type = "too_many_requests"
    error_message = "Too many requests have been made."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        # Seconds until a retry can succeed; sent as the Retry-After header.
        self.retry_after = retry_after


class ServiceUnavailable(TenantryError):
    status_code = 503
    error_type = "server_unavailable"
    error_message = "The service is temporarily unavailable; try again shortly."


# -- 400 ---------------------------------------------------------------------------------------


class InvalidArgument(BadRequest):
    error_type = "invalid_argument"


class InvalidEmail(BadRequest):
    error_type = "invalid_email"
    error_message = "Email format is invalid."


class InvalidPhoneNumber(BadRequest):
    error_type = "invalid_phone_number"
    error_message = "Phone number format is invalid: use E.164, a + and the country code (+14155550123)."


class InvalidPhoneNumberCountryCode(BadRequest):
    error_type = "invalid_phone_number_country_code"
    error_message = "The phone number's country code is not valid."


class DuplicateMemberPhoneNumberForMember(BadRequest):
    error_type = "duplicate_member_phone_number_for_member"
    error_message = "The member already has a different MFA phone number; delete it before sending to a new one."


class NoAssociatedSessionPassedIn(BadRequest):
    error_type = "no_associated_session_passed_in"
    error_message = (
        "The member already has an active MFA factor: pass the intermediate_session_token, "
        "session_token or session_jwt of their login."
    )


class SmsNotConfigured(BadRequest):
    # Stytch refuses SMS with billing_not_verified when a project may not send SMS; here the
    # cause is the operator's configuration, which the message names.
    error_type = "billing_not_verified"
    error_message = "This Tenantry server cannot send SMS: set TENANTRY_SMS_URL (production mode has no dev outbox)."


class InvalidCode(BadRequest):
    error_type = "invalid_code"
    error_message = "Code format is invalid: a passcode is six digits."


class InvalidDiscoveryRedirectUrl(BadRequest):
    error_type = "invalid_discovery_redirect_url"
    error_message = "The discovery_redirect_url is not a valid absolute http(s) URL."


class NoMatchForProvidedMagicLinkUrl(BadRequest):
    error_type = "no_match_for_provided_magic_link_url"
    error_message = "The magic_link_url in the request did not match any redirect URLs set for this project."


class NoDiscoveryRedirectUrlsSet(BadRequest):
    error_type = "no_discovery_redirect_urls_set"
    error_message = "No discovery_redirect_url was given and the project has no redirect URLs set."


class InvalidSessionDurationMinutes(BadRequest):
    error_type = "invalid_session_duration_minutes"
    error_message = "session_duration_minutes must be between 5 and 527040."


class NoSessionArguments(BadRequest):
    error_type = "no_session_arguments"
    error_message = "One of session_token or session_jwt must be provided."


class TooManySessionArguments(BadRequest):
    error_type = "too_many_session_arguments"
    error_message = "Only one of session_token, session_jwt or intermediate_session_token may be provided."


class NoSessionRevokeArguments(BadRequest):
    error_type = "no_session_revoke_arguments"
    error_message = "One of member_session_id, session_token, session_jwt or member_id must be provided."


class TooManySessionRevokeArguments(BadRequest):
    error_type = "too_many_session_revoke_arguments"
    error_message = "Only one of member_session_id, session_token, session_jwt or member_id may be provided."


class OrganizationSlugAlreadyUsed(BadRequest):
    error_type = "organization_slug_already_used"
    error_message = "The provided organization_slug is already used in another organization."


class InvalidOrganizationSlug(BadRequest):
    error_type = "invalid_organization_slug"
    error_message = (
        "The organization_slug must be between 2 and 128 characters long and may only contain "
        "alphanumerics and the reserved characters '-', '.', '_' and '~'."
    )


class InvalidOrganizationName(BadRequest):
    error_type = "invalid_organization_name"
    error_message = "The organization_name must be between 1 and 128 characters long."


class DuplicateOrganizationExternalId(BadRequest):
    error_type = "duplicate_organization_external_id"
    error_message = "The provided organization_external_id is already used in another organization."


class InvalidOrganizationExternalId(BadRequest):
    error_type = "invalid_organization_external_id"
    error_message = (
        "The organization_external_id must be at most 128 characters of letters, digits and '.', '_', '-', '|'."
    )


class OrganizationSettingsDomainTooCommon(BadRequest):
    error_type = "organization_settings_domain_too_common"
    error_message = "Common email domains such as gmail.com cannot be used as an allowed domain."


class OrganizationSettingsInvalidDomain(BadRequest):
    error_type = "organization_settings_invalid_domain"
    error_message = "One of the email_allowed_domains is not a valid domain."


class InvalidOrganizationSetting(InvalidArgument):
    """An organization setting with a value Stytch does not accept."""


class MetadataTooLarge(BadRequest):
    error_type = "metadata_too_large"
    error_message = "Metadata may be at most 4 KB of JSON."


class CustomClaimsTooLarge(BadRequest):
    error_type = "custom_claims_too_large"
    error_message = "session_custom_claims may be at most 4 KB of JSON."


class ReservedClaimsInCustomClaims(BadRequest):
    error_type = "reserved_claims_in_custom_claims"
    error_message = "session_custom_claims may not set reserved JWT claims (iss, sub, aud, exp, nbf, iat, jti)."


class StytchClaimsInCustomClaims(BadRequest):
    error_type = "stytch_claims_in_custom_claims"
    error_message = "session_custom_claims may not set claims under the https://stytch.com/ namespace."


class EmailJitProvisioningNotAllowed(BadRequest):
    error_type = "email_jit_provisioning_not_allowed"
    error_message = "This organization does not allow new members to join by email domain."


class InvalidEmailForJitProvisioning(BadRequest):
    error_type = "invalid_email_for_jit_provisioning"
    error_message = "The email's domain is not one of this organization's allowed domains."


class InvalidSessionToken(BadRequest):
    error_type = "invalid_session_token"
    error_message = "Invalid session token."


class InvalidRole(BadRequest):
    error_type = "invalid_rbac_role_id"
    error_message = "One of the given role ids does not exist in this organization's RBAC policy."


class DuplicateMemberEmail(BadRequest):
    error_type = "duplicate_member_email"
    error_message = "A member with this email address already exists in the organization."


class InvalidInviteRedirectUrl(BadRequest):
    error_type = "invalid_invite_redirect_url"
    error_message = "The invite_redirect_url is not a valid absolute http(s) URL."


class NoInviteRedirectUrl(BadRequest):
    error_type = "no_invite_redirect_url"
    error_message = "No invite_redirect_url was given and the project has no redirect URLs set."


class InvalidLoginRedirectUrl(BadRequest):
    error_type = "invalid_login_redirect_url"
    error_message = "The login_redirect_url is not a valid absolute http(s) URL."


class InvalidSignupRedirectUrl(BadRequest):
    error_type = "invalid_signup_redirect_url"
    error_message = "The signup_redirect_url is not a valid absolute http(s) URL."


class NoLoginRedirectUrl(BadRequest):
    error_type = "no_login_redirect_url"
    error_message = "No login or signup redirect URL was given and the project has no redirect URLs set."


class InvalidEmailForInvites(BadRequest):
    error_type = "invalid_email_for_invites"
    error_message = "The email's domain is not one of this organization's allowed domains for invites."


class OperationRestrictedByAuthMethods(Forbidden):
    error_type = "operation_restricted_by_organization_auth_methods"
    error_message = "This organization does not allow email magic links as an authentication method."


class MemberSessionOrganizationMismatch(BadRequest):
    error_type = "invalid_organization_id"
    error_message = "The organization_id is not valid."


# -- 401 ---------------------------------------------------------------------------------------


class UnauthorizedCredentials(Unauthorized):
    error_type = "unauthorized_credentials"
    error_message = "Unauthorized credentials."


class UnableToAuthMagicLink(Unauthorized):
    error_type = "unable_to_auth_magic_link"
    error_message = (
        "The magic link could not be authenticated because it was either already used or expired. "
        "Send another magic link to this user."
    )


class UnableToAuthOtpCode(Unauthorized):
    error_type = "unable_to_auth_otp_code"
    error_message = (
        "The passcode could not be authenticated because it was either already used or expired. "
        "Send another passcode to this user."
    )


# -- 403 ---------------------------------------------------------------------------------------


class SessionAuthorizationError(Forbidden):
    error_type = "session_authorization_error"
    error_message = "The Member is not authorized to perform the requested action on that resource."


class SessionAuthorizationTenancyError(Forbidden):
    error_type = "session_authorization_tenancy_error"
    error_message = "OrganizationID in AuthorizationCheck request does not match session's Organization ID"


# -- 404 ---------------------------------------------------------------------------------------


class MagicLinkNotFound(NotFound):
    error_type = "magic_link_not_found"
    error_message = "The magic link could not be authenticated, try sending another magic link to the user."


class OtpCodeNotFound(NotFound):
    error_type = "otp_code_not_found"
    error_message = "The passcode provided was incorrect and could not be authenticated."


class IntermediateSessionNotFound(NotFound):
    error_type = "intermediate_session_not_found"
    error_message = "Intermediate session could not be found."


class SessionNotFound(NotFound):
    error_type = "session_not_found"
    error_message = "Session could not be found."


class OrganizationNotFound(NotFound):
    error_type = "organization_not_found"
    error_message = "Organization could not be found."


class MemberNotFound(NotFound):
    error_type = "member_not_found"
    error_message = "Member could not be found."


class MemberDoesNotExistInOrganization(NotFound):
    error_type = "member_does_not_exist_in_organization"
    error_message = "The member does not exist in this organization."


class MemberPhoneNumberNotFound(NotFound):
    error_type = "member_phone_number_not_found"
    error_message = "The member has no MFA phone number: pass mfa_phone_number to enrol one."


class RouteNotFound(NotFound):
    error_type = "route_not_found"
    error_message = "The requested route does not exist."


class MethodNotAllowed(TenantryError):
    status_code = 405
    error_type = "method_not_allowed"
    error_message = "This HTTP method is not allowed on this route."


# -- organizations and members API (error_types from Stytch's catalogue) -----------------------


class OrganizationNameMissing(BadRequest):
    error_type = "organization_name_missing"
    error_message = "organization_name is required."


class OrganizationLogoUrlTooLong(BadRequest):
    error_type = "organization_logo_url_too_long"
    error_message = "organization_logo_url may be at most 2048 characters."


class CannotAssignDefaultRbacRoleId(BadRequest):
    error_type = "cannot_assign_default_rbac_role_id"
    error_message = "The stytch_member role is held by every member and cannot be assigned explicitly."


class InvalidMemberGetFields(BadRequest):
    error_type = "invalid_member_get_fields"
    error_message = "One of member_id or email_address must be provided."


class DuplicateMemberExternalId(BadRequest):
    error_type = "duplicate_member_external_id"
    error_message = "The provided external_id is already used by another member of this organization."


class NoDeletedMemberFoundForReactivation(BadRequest):
    error_type = "no_deleted_member_found_for_reactivation"
    error_message = "The member is not deleted, so it cannot be reactivated."


class EmailUnverifiedForReactivation(BadRequest):
    error_type = "email_unverified_for_reactivation"
    error_message = "Only a member whose email address was verified can be reactivated."


class MemberSearchOrganizationIdsEmpty(BadRequest):
    error_type = "member_search_organization_ids_empty"
    error_message = "organization_ids must contain at least one organization id."


class CannotUpdateTrustedMetadata(Unauthorized):
    error_type = "cannot_update_trusted_metadata"
    error_message = (
        "Stytch SDKs cannot update trusted metadata with user-provided values; trusted_metadata "
        "cannot be written when acting as a member (X-Stytch-Member-Session headers)."
    )


# -- MFA: policy, TOTP, recovery codes (error_types from Stytch's catalogue) --------------------


class ActionAvailableOnlyForActiveMembers(BadRequest):
    error_type = "action_available_only_for_active_members"
    error_message = "You may not attach an MFA factor to a member that is not active."


class ActionAvailableOnlyOncePrimaryAuthenticationIsMet(BadRequest):
    error_type = "action_available_only_once_primary_authentication_is_met"
    error_message = (
        "You must complete the primary authentication requirements for an organization before completing an MFA flow."
    )


class InvalidIntermediateSessionTokenForOrganization(BadRequest):
    error_type = "invalid_intermediate_session_token_for_organization"
    error_message = "The intermediate session token belongs to another organization or member."


class OperationRestrictedByOrganizationMfaMethods(Forbidden):
    error_type = "operation_restricted_by_organization_mfa_methods"
    error_message = "This organization does not allow this MFA method."


class InsufficientFactors(Unauthorized):
    error_type = "insufficient_factors"
    error_message = (
        "The member already has an active MFA factor: pass an intermediate session token, session "
        "token or session JWT that carries it."
    )


class AllowedMfaMethodsRequiredForRestricted(BadRequest):
    error_type = "allowed_mfa_methods_required_for_restricted"
    error_message = "allowed_mfa_methods must name at least one method when mfa_methods is RESTRICTED."


class InvalidOrganizationMfaPolicy(BadRequest):
    error_type = "invalid_organization_mfa_policy"
    error_message = "mfa_policy must be one of OPTIONAL, REQUIRED_FOR_ALL."


class InvalidOrganizationAllowedMfaMethods(BadRequest):
    error_type = "invalid_organization_allowed_mfa_methods"
    error_message = "allowed_mfa_methods may only contain sms_otp, totp."


class InvalidMfaDefaultMethod(BadRequest):
    error_type = "invalid_mfa_default_method"
    error_message = "default_mfa_method must be one of sms_otp, totp."


class DefaultMfaMemberMissingFactor(BadRequest):
    error_type = "default_mfa_member_missing_factor"
    error_message = "The member has no active factor of the requested default MFA method."


class ActiveTotpExists(BadRequest):
    error_type = "active_totp_exists"
    error_message = (
        "Cannot create a new TOTP for the specified member since the member already has an active "
        "TOTP. Members may only have one active TOTP at a time."
    )


class InvalidTotpCode(BadRequest):
    error_type = "invalid_totp_code"
    error_message = "The TOTP code must be 6 digits."


class TotpNotFound(NotFound):
    error_type = "totp_not_found"
    error_message = "The member has no TOTP registration, or it expired before it was verified."


class UnableToAuthenticateTotp(Unauthorized):
    error_type = "unable_to_authenticate_totp"
    error_message = "The TOTP code could not be authenticated."


class TotpCodeAlreadyAuthenticated(Unauthorized):
    error_type = "totp_code_already_authenticated"
    error_message = "This TOTP code has already been used; wait for the next code."


class InvalidRecoveryCode(BadRequest):
    error_type = "invalid_recovery_code"
    error_message = "The recovery code is not in the xxxx-xxxx-xxxx format."


class RecoveryCodesNotFound(NotFound):
    error_type = "recovery_codes_not_found"
    error_message = "The member has no recovery codes."


class NoActiveRecoveryCodeBackedFactor(BadRequest):
    error_type = "no_active_recovery_code_backed_factor"
    error_message = "Recovery codes stand in for an active TOTP registration, and the member has none."


class UnableToAuthenticateRecoveryCode(Unauthorized):
    error_type = "unable_to_authenticate_recovery_code"
    error_message = "The recovery code could not be authenticated: it is wrong or was already used."
