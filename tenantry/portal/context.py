"""What every portal handler needs, built once by ``create_portal`` and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from starlette.requests import Request

from tenantry.portal.cookies import CookiePolicy
from tenantry.portal.settings import PortalSettings
from tenantry.portal.signing import Signer


@dataclass(frozen=True)
class Portal:
    settings: PortalSettings
    engine: Engine
    client: Any  # stytch.B2BClient (the SDK is untyped)
    signer: Signer
    cookies: CookiePolicy


def portal(request: Request) -> Portal:
    found: Portal = request.app.state.portal
    return found


class Redirect(Exception):
    """Raised anywhere in a handler: answer 303 to ``path`` (relative to the portal's root)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PageError(Exception):
    """Raised anywhere in a handler: answer with a plain error page instead of a stack trace."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status_code = status_code
        self.title = title
        self.message = message
