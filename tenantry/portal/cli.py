"""``tenantry portal``: the clinic portal on its own, against any Stytch-compatible API.

Against Stytch's cloud: ``TENANTRY_PORTAL_STYTCH_ENVIRONMENT=test`` (or ``live``), the project's
real ``TENANTRY_PORTAL_STYTCH_PROJECT_ID`` / ``TENANTRY_PORTAL_STYTCH_SECRET``, a
``TENANTRY_PORTAL_COOKIE_KEYS`` of 32+ random characters, and ``TENANTRY_PORTAL_PUBLIC_URL``
whose ``/authenticate`` is allowed as a redirect URL in the Stytch dashboard.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from starlette.applications import Starlette

from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade
from tenantry.origin import local_origin
from tenantry.portal.settings import PortalSettingsError, load_portal_settings


def portal(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
) -> None:
    """Serve the clinic portal standalone (settings from TENANTRY_PORTAL_*)."""
    os.environ.setdefault("TENANTRY_PORTAL_PUBLIC_URL", local_origin(host, port))
    try:
        settings = load_portal_settings()
    except PortalSettingsError as exc:
        typer.echo(f"tenantry portal: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = create_engine(settings.database_url)
    upgrade(engine)  # the portal's own tables (audit log) live in this database
    engine.dispose()
    typer.echo(f"Clinic portal: {settings.public_url} (API: {settings.stytch_environment})")
    typer.echo(f"Allow this redirect URL in the project: {settings.authenticate_url}")
    uvicorn.run("tenantry.portal.cli:portal_from_environment", factory=True, host=host, port=port, access_log=False)


def portal_from_environment() -> Starlette:
    settings = load_portal_settings()
    return _standalone(settings)


def _standalone(settings: object) -> Starlette:
    from tenantry.portal.app import create_portal
    from tenantry.portal.settings import PortalSettings

    assert isinstance(settings, PortalSettings)
    return create_portal(settings, create_engine(settings.database_url))
