"""The portal inside ``tenantry serve`` (development): credentials kept beside the database,
and the mount at ``/portal``.

On first start ``tenantry serve`` creates the default project and shows its secret once; the
portal needs that secret on every start, so it is kept in ``portal.env`` (mode 0600) beside the
SQLite file (``.tenantry/portal.env`` for PostgreSQL). An existing database without that file
gets a dedicated project for the portal (the old secret cannot be recovered: only its hash is
stored). Either way the project allows the portal's authenticate URL as a redirect URL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute, Mount

from tenantry.clock import SystemClock
from tenantry.config import Settings
from tenantry.db.engine import write_transaction
from tenantry.projects import service as projects

MOUNT_PATH = "/portal"
ENV_FILE = "portal.env"
_KEYS = ("TENANTRY_PORTAL_STYTCH_PROJECT_ID", "TENANTRY_PORTAL_STYTCH_SECRET", "TENANTRY_PORTAL_COOKIE_KEYS")


def env_file_path(database_url: str) -> Path:
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///")).parent / ENV_FILE
    return Path(".tenantry") / ENV_FILE


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in _KEYS:
            values[name.strip()] = value.strip()
    return values


def _write_env_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: the secret is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# The development portal's credentials (tenantry serve). Keep private.\n")
        for name in _KEYS:
            out.write(f"{name}={values[name]}\n")


def ensure_dev_credentials(
    engine: Engine, settings: Settings, created: tuple[projects.Project, str] | None
) -> tuple[Path, str]:
    """The env file's path and the portal project's id, creating what is missing."""
    path = env_file_path(settings.database_url)
    authenticate_url = f"{settings.public_url.rstrip('/')}{MOUNT_PATH}/authenticate"
    with write_transaction(engine) as conn:
        values = read_env_file(path) if path.exists() else {}
        project = projects.get_project(conn, values.get(_KEYS[0], "")) if values else None
        if project is None or len(values) != len(_KEYS):
            if created is not None:
                project, secret = created
            else:
                project, secret = projects.create_project(conn, SystemClock(), name="Clinic portal (development)")
            values = {_KEYS[0]: project.project_id, _KEYS[1]: secret, _KEYS[2]: secrets.token_urlsafe(32)}
            _write_env_file(path, values)
        if authenticate_url not in project.redirect_urls:
            projects.set_redirect_urls(conn, project.project_id, [*project.redirect_urls, authenticate_url])
    return path, project.project_id


def export_environment(path: Path, settings: Settings, api_url: str) -> None:
    """Hand the credentials to uvicorn's workers (they build their app from the environment)."""
    for name, value in read_env_file(path).items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("TENANTRY_PORTAL_STYTCH_ENVIRONMENT", api_url)
    os.environ.setdefault("TENANTRY_PORTAL_PUBLIC_URL", f"{settings.public_url.rstrip('/')}{MOUNT_PATH}")


def dev_routes(settings: Settings, engine: Engine) -> list[BaseRoute]:
    """``/portal`` in development when ``tenantry serve`` exported the portal's credentials."""
    if settings.mode != "development" or not os.environ.get("TENANTRY_PORTAL_STYTCH_PROJECT_ID"):
        return []
    from tenantry.portal.app import create_portal
    from tenantry.portal.settings import load_portal_settings

    return [Mount(MOUNT_PATH, app=create_portal(load_portal_settings(), engine))]
