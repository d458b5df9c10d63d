"""Settings from ``TENANTRY_*`` environment variables, checked once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_", extra="ignore")

    database_url: str = "sqlite:///.tenantry/tenantry.db"
    # Where the server is reachable by people; links in emails are built from it, never from
    # the request's Host header (a forged Host would otherwise end up in a mail).
    public_url: str = "http://127.0.0.1:8000"
    mode: Literal["development", "production"] = "development"
    # No SMTP URL means the dev mailbox receives every message.
    smtp_url: str | None = None
    mail_from: str = "Tenantry <no-reply@tenantry.localhost>"
    dev_mailbox_dir: Path = Path(".tenantry/mailbox")
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    # Master key sealing TOTP secrets and recovery codes (tenantry.mfa.vault), at least 32
    # characters; unset: the random key migration 0008 stored in the database.
    mfa_key: SecretStr | None = Field(default=None, min_length=32)

    @property
    def dev_mailbox_enabled(self) -> bool:
        return self.mode == "development" and not self.smtp_url
