"""``TENANTRY_PORTAL_*`` settings, checked once at start-up.

The portal is an ordinary Stytch application: it needs a project id and secret and the API's
address. ``stytch_environment`` is a URL (a Tenantry server, e.g. ``http://127.0.0.1:8000``) or
Stytch's cloud: ``test`` (https://test.stytch.com) or ``live`` (https://api.stytch.com).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_COOKIE_KEY_CHARS = 32


def _split_keys(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Comma-separated; the first signs new cookies, all verify (so a key can be rotated without
# signing everybody out).
CookieKeys = Annotated[list[SecretStr], NoDecode, BeforeValidator(_split_keys)]


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_PORTAL_", extra="ignore")

    stytch_project_id: str
    stytch_secret: SecretStr
    stytch_environment: str = "test"
    # Where people reach the portal, mount path included (``…/portal`` when mounted in
    # ``tenantry serve``). Magic links are built from it, never from the request's Host header.
    public_url: str = "http://127.0.0.1:3000"
    cookie_keys: CookieKeys
    # None: Secure exactly when public_url is https.
    cookie_secure: bool | None = None
    # The portal's own tables live in Tenantry's database (TENANTRY_DATABASE_URL when unset).
    database_url: str = Field(
        default="sqlite:///.tenantry/tenantry.db",
        validation_alias=AliasChoices("TENANTRY_PORTAL_DATABASE_URL", "TENANTRY_DATABASE_URL"),
    )
    # How long a sign-in link stays good (Stytch's discovery_expiration_minutes; 5..10080).
    link_minutes: int = Field(default=30, ge=5, le=10080)
    # Defaults for a new clinic (each clinic changes its own on its settings page).
    default_idle_minutes: int = Field(default=15, ge=1, le=1440)
    default_absolute_minutes: int = Field(default=720, ge=5, le=527040)

    @field_validator("cookie_keys")
    @classmethod
    def _keys_long_enough(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if not keys:
            raise ValueError("at least one cookie key is needed")
        if any(len(k.get_secret_value()) < MIN_COOKIE_KEY_CHARS for k in keys):
            raise ValueError(f"each cookie key needs at least {MIN_COOKIE_KEY_CHARS} characters")
        return keys

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://") if self.cookie_secure is None else self.cookie_secure

    @property
    def authenticate_url(self) -> str:
        """The redirect URL of every magic link the portal sends (allow-list it in the project)."""
        return f"{self.public_url}/authenticate"


class PortalSettingsError(RuntimeError):
    """Invalid ``TENANTRY_PORTAL_*`` settings, named without their values (some are secrets)."""


def load_portal_settings() -> PortalSettings:
    try:
        return PortalSettings()  # type: ignore[call-arg]  # required fields come from the environment
    except ValidationError as exc:
        problems = "; ".join(
            f"TENANTRY_PORTAL_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise PortalSettingsError(f"invalid portal settings: {problems}") from None
