"""The clinic metadata schema: NPI check digits, time zones, domains, versions, timeouts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.portal.clinics import metadata
from tenantry.portal.clinics.metadata import ClinicMetadata, Timeouts

VALID = {
    "clinic_type": "primary_care",
    "specialties": ["Cardiology", " Cardiology ", ""],
    "ehr": {"system": "athenahealth", "fhir_api": True},
    "npi": "1234567893",
    "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "62701"},
    "time_zone": "America/Chicago",
    "allowed_email_domains": ["@Clinic.Example", "clinic.example"],
}


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi: str) -> None:
    assert metadata.npi_is_valid(npi)


@pytest.mark.parametrize(
    "npi",
    ["1234567890", "1234567894", "123456789", "12345678930", "123456789X", "", "１２３４５６７８９３", "1234 67893"],
)
def test_invalid_npis(npi: str) -> None:
    assert not metadata.npi_is_valid(npi)


def test_the_80840_prefix_takes_part_in_the_check() -> None:
    # A plain Luhn over the 10 digits alone would accept 1234567897 and refuse 1234567893.
    assert not metadata.npi_is_valid("1234567897")


def test_a_valid_clinic_is_normalised_and_versioned() -> None:
    meta = ClinicMetadata.model_validate(VALID)
    assert meta.schema_version == 1
    assert meta.specialties == ["Cardiology"]
    assert meta.allowed_email_domains == ["clinic.example"]
    assert meta.sessions.idle_timeout_minutes == 15 and meta.sessions.absolute_lifetime_minutes == 720
    stored = metadata.to_trusted_metadata(meta)
    assert list(stored) == ["clinic"] and stored["clinic"]["schema_version"] == 1
    assert metadata.from_trusted_metadata({**stored, "other": 1}) == meta


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"npi": "1234567890"}, "npi"),
        ({"time_zone": "America/Springfield"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"clinic_type": "spa"}, "clinic_type"),
        ({"ehr": {"system": "paper"}}, "ehr.system"),
        ({"allowed_email_domains": ["not a domain"]}, "allowed_email_domains"),
        ({"address": {"line1": "", "city": "x", "postal_code": "1"}}, "address.line1"),
        ({"address": {"line1": "x", "city": "x", "postal_code": "1", "country": "USA"}}, "address.country"),
        ({"specialties": ["x" * 61]}, "specialties"),
        ({"sessions": {"idle_timeout_minutes": 0}}, "sessions.idle_timeout_minutes"),
        (
            {"sessions": {"idle_timeout_minutes": 30, "absolute_lifetime_minutes": 20}},
            "sessions.absolute_lifetime_minutes",
        ),
        ({"schema_version": 2}, "schema_version"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_invalid_fields_are_named(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ClinicMetadata.model_validate({**VALID, **change})
    assert field in metadata.error_messages(caught.value)


def test_unknown_or_foreign_metadata_reads_as_none() -> None:
    assert metadata.from_trusted_metadata(None) is None
    assert metadata.from_trusted_metadata({"clinic": {"schema_version": 99}}) is None
    assert metadata.from_trusted_metadata({"clinic": {"schema_version": 1, "npi": "bad"}}) is None


def test_session_timeouts_fall_back_to_defaults() -> None:
    default = Timeouts(15, 720)
    assert metadata.session_timeouts(None, default) == default
    assert metadata.session_timeouts({"clinic": {"sessions": {"idle_timeout_minutes": -1}}}, default) == default
    custom = {"clinic": {"sessions": {"idle_timeout_minutes": 5, "absolute_lifetime_minutes": 60}}}
    assert metadata.session_timeouts(custom, default) == Timeouts(5, 60)


def test_with_timeouts_changes_only_the_sessions() -> None:
    stored = metadata.to_trusted_metadata(ClinicMetadata.model_validate(VALID))
    updated = metadata.with_timeouts(stored, Timeouts(10, 30))
    assert updated["clinic"]["sessions"] == {"idle_timeout_minutes": 10, "absolute_lifetime_minutes": 30}
    assert updated["clinic"]["npi"] == "1234567893"
    with pytest.raises(ValidationError):
        metadata.with_timeouts(stored, Timeouts(30, 10))


@pytest.mark.parametrize(
    ("slug", "ok"),
    [("riverside-family", True), ("ab", True), ("a", False), ("-x", False), ("Big", False), ("a_b", False)],
)
def test_slugs(slug: str, ok: bool) -> None:
    assert metadata.slug_is_valid(slug) is ok
