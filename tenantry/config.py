"""Settings from ``TENANTRY_*`` environment variables, checked once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantry.ratelimit.client_ip import IPNetwork, parse_networks
from tenantry.ratelimit.rules import Rule, parse_rule
from tenantry.sms.settings import SmsSettings

# "COUNT/WINDOW" such as "10/60s", "300/1m", "1000/1h", or "off".
RateRule = Annotated[Rule | None, NoDecode, BeforeValidator(parse_rule)]
# Comma-separated addresses or CIDR networks: "10.0.0.0/8, 127.0.0.1".
Networks = Annotated[list[IPNetwork], NoDecode, BeforeValidator(parse_networks)]


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
    # Delivery attempts before a mail is dead (retries back off 2 s, 4 s … 15 min: ~1 h in all).
    mail_max_attempts: int = Field(default=12, ge=1)
    # How long a worker holds a mail while sending; a send is cut off at half of it.
    mail_lease_seconds: float = Field(default=60.0, ge=2)
    # DKIM signing (``tenantry mail dns`` makes the key); the domain defaults to the From domain.
    dkim_private_key_file: Path | None = None
    dkim_selector: str = "tenantry"
    dkim_domain: str | None = None
    # PostgreSQL connection pool of each worker process (SQLite opens a connection per use).
    # Connections = workers x (pool size + overflow) must stay under the server's max_connections.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # Seconds a request waits for a free pooled connection, then for a new connection, before
    # it fails with 503 server_unavailable: short, so an outage answers fast instead of piling up.
    db_pool_timeout: float = Field(default=2.0, gt=0)
    db_connect_timeout: int = Field(default=2, ge=1)
    # PostgreSQL: a statement running longer (a hung server, a lock held elsewhere) is cancelled
    # and the request answers 503 server_unavailable instead of waiting forever. 0: no limit.
    db_statement_timeout_ms: int = Field(default=5000, ge=0)
    # Threads per worker that run requests' database work (tenantry.db.engine.database_threads);
    # unset: 1 on SQLite, pool size + overflow (20) on PostgreSQL.
    db_threads: int | None = Field(default=None, ge=1)
    # How long a thread may hold the GIL while another waits for it (Python's default: 5 ms);
    # applied by each worker at start-up (tenantry.app).
    gil_switch_interval_ms: float = Field(default=1.0, gt=0, le=100)
    # Bearer token /metrics asks for; unset: /metrics is open (it exports no secrets).
    metrics_token: SecretStr | None = Field(default=None, min_length=16)
    # One JSON object per log line ("json") or plain text for a terminal ("text").
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Master key sealing TOTP secrets and recovery codes (tenantry.mfa.vault), at least 32
    # characters; unset: the random key migration 0008 stored in the database.
    mfa_key: SecretStr | None = Field(default=None, min_length=32)
    # SMS OTP: provider, sender and dev outbox (TENANTRY_SMS_*, tenantry.sms.settings).
    sms: SmsSettings = Field(default_factory=SmsSettings)
    # Send endpoints' rate limits (tenantry.ratelimit), each a fixed window from the first request.
    rate_limits_enabled: bool = True
    rate_limit_email: RateRule = Rule(10, 60)
    rate_limit_phone: RateRule = Rule(5, 60)
    rate_limit_ip: RateRule = Rule(300, 60)
    rate_limit_project: RateRule = Rule(1000, 60)
    # HMAC key of the counters' keys; unset: a random key kept in the database.
    rate_limit_key: SecretStr | None = None
    # Counters in Redis instead of the database.
    redis_url: str | None = None
    # Peers whose X-Forwarded-For names the client; nobody's by default.
    trusted_proxies: Networks = []

    @property
    def dev_mailbox_enabled(self) -> bool:
        return self.mode == "development" and not self.smtp_url


class SettingsError(RuntimeError):
    """Invalid ``TENANTRY_*`` settings, described without their values (some are secrets)."""


def load_settings() -> Settings:
    """Settings from the environment; a bad value names the variable and the rule, never the
    value itself, which pydantic's own message would echo (a short TENANTRY_MFA_KEY included)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TENANTRY_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
