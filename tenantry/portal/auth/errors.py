"""Which Stytch errors mean "start the sign-in again" rather than "something broke"."""

from __future__ import annotations

from tenantry.portal.client import error_type

# The intermediate session (the ten minutes after a discovery link) is gone.
INTERMEDIATE_SESSION_GONE = frozenset(
    {"intermediate_session_not_found", "intermediate_session_expired", "invalid_intermediate_session_token"}
)
# The link itself was used, expired or never existed.
LINK_UNUSABLE = frozenset(
    {"unable_to_auth_magic_link", "magic_link_not_found", "invalid_token", "invalid_magic_link_token"}
)


def intermediate_session_gone(exc: BaseException) -> bool:
    return error_type(exc) in INTERMEDIATE_SESSION_GONE


def link_unusable(exc: BaseException) -> bool:
    return error_type(exc) in LINK_UNUSABLE
