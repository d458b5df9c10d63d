"""The clinic metadata schema, kept in the organization's ``trusted_metadata["clinic"]``.

The tutorial's second pitfall: clinic-specific data captured at creation, or downstream
provisioning must guess it later. ``trusted_metadata`` is writable only with the project
secret (never by the member's browser), so the portal validates it here before every write.

Schema version 1 (``trusted_metadata["clinic"]``)::

    {
      "schema_version": 1,
      "clinic_type": "primary_care" | "specialty" | "urgent_care" | "multi_specialty" | "dental"
                     | "behavioral_health" | "telehealth" | "other",
      "specialties": ["Cardiology", ...],           # 0..20 names, 1..60 characters each
      "ehr": {
        "system": "none" | "epic" | "oracle_cerner" | "athenahealth" | "eclinicalworks"
                  | "nextgen" | "meditech" | "allscripts" | "other",
        "fhir_api": bool,                           # integration flags
        "hl7v2_feed": bool,
        "scheduling_sync": bool,
        "billing_export": bool
      },
      "npi": "1234567893",                          # type 2 NPI: 10 digits, Luhn with prefix 80840
      "address": {"line1": str, "line2": str, "city": str, "region": str,
                  "postal_code": str, "country": "US"},  # ISO 3166-1 alpha-2
      "time_zone": "America/New_York",              # an IANA name known to zoneinfo
      "allowed_email_domains": ["clinic.example"],  # also set as the organization's email_allowed_domains
      "sessions": {"idle_timeout_minutes": 15,      # automatic logoff after inactivity (1..1440)
                   "absolute_lifetime_minutes": 720}  # sign in again after this long (5..527040)
    }

A newer version must come with a function that upgrades the older ones in ``from_trusted_metadata``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1
KEY = "clinic"

CLINIC_TYPES: dict[str, str] = {
    "primary_care": "Primary care",
    "specialty": "Specialty practice",
    "multi_specialty": "Multi-specialty group",
    "urgent_care": "Urgent care",
    "dental": "Dental",
    "behavioral_health": "Behavioral health",
    "telehealth": "Telehealth",
    "other": "Other",
}
EHR_SYSTEMS: dict[str, str] = {
    "none": "No EHR yet",
    "epic": "Epic",
    "oracle_cerner": "Oracle Health (Cerner)",
    "athenahealth": "athenahealth",
    "eclinicalworks": "eClinicalWorks",
    "nextgen": "NextGen",
    "meditech": "MEDITECH",
    "allscripts": "Veradigm (Allscripts)",
    "other": "Other",
}
EHR_FLAGS: dict[str, str] = {
    "fhir_api": "FHIR API access",
    "hl7v2_feed": "HL7 v2 interface feed",
    "scheduling_sync": "Scheduling sync",
    "billing_export": "Billing export",
}

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

ClinicType = Literal[
    "primary_care", "specialty", "multi_specialty", "urgent_care", "dental", "behavioral_health", "telehealth", "other"
]
EhrSystem = Literal[
    "none", "epic", "oracle_cerner", "athenahealth", "eclinicalworks", "nextgen", "meditech", "allscripts", "other"
]


def npi_is_valid(npi: str) -> bool:
    """10 digits whose last is the Luhn check digit of ``80840`` + the first nine.

    CMS: the NPI check digit is computed as for an ISO/IEC 7812 card number issued under the
    health-industry prefix 80840, so the prefix takes part in the sum (1234567893 is valid).
    """
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    # Doubling starts at the rightmost digit of the payload (the check digit is not there yet).
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


@lru_cache(maxsize=1)
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Ehr(_Strict):
    system: EhrSystem = "none"
    fhir_api: bool = False
    hl7v2_feed: bool = False
    scheduling_sync: bool = False
    billing_export: bool = False


class Address(_Strict):
    line1: str = Field(min_length=1, max_length=120)
    line2: str = Field(default="", max_length=120)
    city: str = Field(min_length=1, max_length=80)
    region: str = Field(default="", max_length=80)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")


class SessionPolicy(_Strict):
    idle_timeout_minutes: int = Field(default=15, ge=1, le=1440)
    absolute_lifetime_minutes: int = Field(default=720, ge=5, le=527040)

    @field_validator("absolute_lifetime_minutes")
    @classmethod
    def _absolute_at_least_idle(cls, value: int, info: Any) -> int:
        idle = info.data.get("idle_timeout_minutes")
        if idle is not None and value < idle:
            raise ValueError("the absolute lifetime cannot be shorter than the idle timeout")
        return value


class ClinicMetadata(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    clinic_type: ClinicType
    specialties: list[str] = Field(default_factory=list, max_length=20)
    ehr: Ehr = Field(default_factory=Ehr)
    npi: str
    address: Address
    time_zone: str
    allowed_email_domains: list[str] = Field(default_factory=list, max_length=20)
    sessions: SessionPolicy = Field(default_factory=SessionPolicy)

    @field_validator("specialties")
    @classmethod
    def _specialties(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values if v.strip()]
        if any(len(v) > 60 for v in cleaned):
            raise ValueError("each specialty is at most 60 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("npi")
    @classmethod
    def _npi(cls, value: str) -> str:
        if not npi_is_valid(value):
            raise ValueError("an NPI is 10 digits ending in its check digit (Luhn, prefix 80840)")
        return value

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        if value not in known_time_zones():
            raise ValueError("not a time zone name this server knows (e.g. America/Chicago)")
        return value

    @field_validator("allowed_email_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower().lstrip("@") for v in values if v.strip()]
        bad = [v for v in cleaned if not _DOMAIN.match(v)]
        if bad:
            raise ValueError(f"not a domain name: {', '.join(bad)}")
        return list(dict.fromkeys(cleaned))


def slug_is_valid(slug: str) -> bool:
    """Lowercase letters, digits and inner hyphens, 2..64 characters (a subset of Stytch's slug rule)."""
    return len(slug) >= 2 and bool(_SLUG.match(slug))


def to_trusted_metadata(meta: ClinicMetadata) -> dict[str, Any]:
    """The ``trusted_metadata`` object to send (only our key: Stytch merges top-level keys)."""
    return {KEY: meta.model_dump(mode="json")}


def from_trusted_metadata(trusted_metadata: dict[str, Any] | None) -> ClinicMetadata | None:
    """The clinic's metadata, or None when the organization has none (or one this code cannot read)."""
    raw = (trusted_metadata or {}).get(KEY)
    if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
        return None
    try:
        return ClinicMetadata.model_validate(raw)
    except ValidationError:
        return None


@dataclass(frozen=True)
class Timeouts:
    idle_minutes: int
    absolute_minutes: int


def session_timeouts(trusted_metadata: dict[str, Any] | None, default: Timeouts) -> Timeouts:
    """The clinic's idle timeout and absolute lifetime; ``default`` for organizations the portal
    did not create (any organization of the project may sign in)."""
    raw = (trusted_metadata or {}).get(KEY)
    sessions = raw.get("sessions") if isinstance(raw, dict) else None
    if not isinstance(sessions, dict):
        return default
    try:
        policy = SessionPolicy.model_validate(sessions)
    except ValidationError:
        return default
    return Timeouts(policy.idle_timeout_minutes, policy.absolute_lifetime_minutes)


def with_timeouts(trusted_metadata: dict[str, Any] | None, timeouts: Timeouts) -> dict[str, Any]:
    """``trusted_metadata[KEY]`` with new session timeouts (validated), the rest unchanged."""
    policy = SessionPolicy(
        idle_timeout_minutes=timeouts.idle_minutes, absolute_lifetime_minutes=timeouts.absolute_minutes
    )
    raw = dict((trusted_metadata or {}).get(KEY) or {"schema_version": SCHEMA_VERSION})
    raw["sessions"] = policy.model_dump(mode="json")
    return {KEY: raw}


def error_messages(exc: ValidationError) -> dict[str, str]:
    """Field -> a sentence for the form (first error per field, dotted path as the field name)."""
    messages: dict[str, str] = {}
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "form"
        message = str(err["msg"]).removeprefix("Value error, ")
        messages.setdefault(field, message)
    return messages
