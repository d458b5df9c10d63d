"""SMS settings from ``TENANTRY_SMS_*`` environment variables (nested in ``Settings.sms``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from tenantry.config import Settings


class SmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTRY_SMS_", extra="ignore", populate_by_name=True)

    # A Twilio-compatible Messages endpoint, e.g.
    # https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json ("{sid}" is replaced by the
    # username). Credentials may sit in the URL (https://SID:TOKEN@host/...) or in the two
    # variables below. Unset: the dev SMS outbox in development, no SMS at all in production.
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    # The sender: an E.164 number, or a Twilio Messaging Service SID (MG...).
    sender: str | None = Field(default=None, validation_alias="TENANTRY_SMS_FROM")
    dev_outbox_dir: Path = Path(".tenantry/sms")
    # At most half the outbox lease (60 s): a send is cut off before another worker may take over
    # the message, so a slow provider cannot make one text go out twice.
    timeout_seconds: float = Field(default=15.0, gt=0, le=30)

    @model_validator(mode="after")
    def _sender_with_url(self) -> SmsSettings:
        # Refused at start-up rather than at the first send: a provider URL without a sender
        # would queue codes that can never leave.
        if self.url and not self.sender:
            raise ValueError("TENANTRY_SMS_URL needs TENANTRY_SMS_FROM (a sender number or MG... service SID)")
        return self


def sms_available(settings: Settings) -> bool:
    """Whether a code can leave this server: through the configured provider, or into the dev
    SMS outbox (development only)."""
    return bool(settings.sms.url) or settings.mode == "development"
