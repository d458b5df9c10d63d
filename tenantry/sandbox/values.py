"""Stytch's documented B2B sandbox values and their outcomes.

Source: Stytch's "Sandbox values" page for B2B. In a test project:

* ``sandbox@stytch.com`` at discovery send, and ``sandbox@stytch.com`` with the sandbox
  organization id at login_or_signup and invite, answer 200 and send no mail;
* the three fixed magic-link tokens answer 200 / 401 ``unable_to_auth_magic_link`` / 404
  ``magic_link_not_found`` at both ``magic_links/authenticate`` and
  ``magic_links/discovery/authenticate``.
"""

from __future__ import annotations

from tenantry import errors
from tenantry.projects.service import Project

SANDBOX_EMAIL = "sandbox@stytch.com"
SANDBOX_ORGANIZATION_ID = "organization-test-007d9d4a-deac-4a87-ba0a-e6e8afba4d4b"

TOKEN_SUCCESS = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="
TOKEN_UNABLE_TO_AUTH = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU="
TOKEN_NOT_FOUND = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="


def _is_sandbox_email(email_address: str) -> bool:
    # Compared loosely (case, surrounding blanks) as the normaliser would; an invalid address is
    # simply not the sandbox one and goes on to the normal validation.
    return email_address.strip().lower() == SANDBOX_EMAIL


def is_discovery_send(project: Project, email_address: str) -> bool:
    """A discovery send that answers 200 without sending anything."""
    return project.is_test and _is_sandbox_email(email_address)


def is_organization_send(project: Project, organization_id: str, email_address: str) -> bool:
    """A login_or_signup or invite that answers 200 without sending anything."""
    return project.is_test and organization_id == SANDBOX_ORGANIZATION_ID and _is_sandbox_email(email_address)


def is_sandbox_organization(project: Project, organization_id: str) -> bool:
    return project.is_test and organization_id == SANDBOX_ORGANIZATION_ID


def authenticates(project: Project, token: str) -> bool:
    """True for the success token; raises Stytch's error for the two failure tokens; False for
    every other token (and for every token in a live project), which then goes the normal way."""
    if not project.is_test:
        return False
    if token == TOKEN_SUCCESS:
        return True
    if token == TOKEN_UNABLE_TO_AUTH:
        raise errors.UnableToAuthMagicLink()
    if token == TOKEN_NOT_FOUND:
        raise errors.MagicLinkNotFound()
    return False
