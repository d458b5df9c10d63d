"""The one way the portal reaches its identity provider: the official Stytch SDK."""

from __future__ import annotations

import stytch
from stytch.core.response_base import StytchError

from tenantry.portal.settings import PortalSettings


def build_client(settings: PortalSettings) -> stytch.B2BClient:
    """A B2BClient for Tenantry (environment is a URL) or Stytch's cloud ("test"/"live").

    Its aiohttp session is created lazily on the first ``*_async`` call, inside the server's
    event loop; the portal only ever uses the async methods, so a portal mounted in the same
    process as the API it calls never blocks the loop that has to answer it.
    """
    return stytch.B2BClient(
        project_id=settings.stytch_project_id,
        secret=settings.stytch_secret.get_secret_value(),
        environment=settings.stytch_environment,
        suppress_warnings=True,
    )


def error_type(exc: BaseException) -> str | None:
    """Stytch's ``error_type`` of an SDK error, None for anything else."""
    return exc.details.error_type if isinstance(exc, StytchError) else None


__all__ = ["StytchError", "build_client", "error_type"]
