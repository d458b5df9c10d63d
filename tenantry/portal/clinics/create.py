"""Create a clinic: an organization with its metadata, the clinic roles, and its creator as owner.

Runs on the intermediate session of a discovery link (Stytch's ``discovery.organizations.create``),
so the person becomes the clinic's first member without another email.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal import roles
from tenantry.portal.audit import log as audit
from tenantry.portal.auth import errors, flow
from tenantry.portal.auth.establish import establish
from tenantry.portal.client import StytchError, error_type
from tenantry.portal.clinics import metadata
from tenantry.portal.context import PageError, Redirect, portal
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render

COMMON_TIME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Europe/London",
    "Europe/Berlin",
    "UTC",
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n;]", text) if part.strip()]


def fields_from_form(form: FormData) -> dict[str, Any]:
    """The form as the metadata model's input (the model validates; this only reshapes)."""

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    def number(name: str, default: int) -> int | str:
        raw = text(name)
        return int(raw) if raw.isdigit() else (raw or default)

    return {
        "clinic_type": text("clinic_type"),
        "specialties": _split(text("specialties")),
        "ehr": {"system": text("ehr_system") or "none", **{flag: flag in form for flag in metadata.EHR_FLAGS}},
        "npi": re.sub(r"[\s-]", "", text("npi")),
        "address": {
            "line1": text("address_line1"),
            "line2": text("address_line2"),
            "city": text("address_city"),
            "region": text("address_region"),
            "postal_code": text("address_postal_code"),
            "country": (text("address_country") or "US").upper(),
        },
        "time_zone": text("time_zone"),
        "allowed_email_domains": _split(text("allowed_email_domains")),
        "sessions": {
            "idle_timeout_minutes": number("idle_timeout_minutes", 15),
            "absolute_lifetime_minutes": number("absolute_lifetime_minutes", 720),
        },
    }


def _form_page(request: Request, values: dict[str, str], problems: dict[str, str], status_code: int = 200) -> Response:
    p = portal(request)
    context = {
        "values": values,
        "errors": problems,
        "clinic_types": metadata.CLINIC_TYPES,
        "ehr_systems": metadata.EHR_SYSTEMS,
        "ehr_flags": metadata.EHR_FLAGS,
        "time_zones": COMMON_TIME_ZONES,
        "default_idle": p.settings.default_idle_minutes,
        "default_absolute": p.settings.default_absolute_minutes,
    }
    return render(request, "portal/clinic_new.html", context, status_code=status_code)


async def new_clinic_page(request: Request) -> Response:
    if not flow.read(request).ist:
        raise Redirect("/sign-in")
    return _form_page(request, {}, {})


async def create_clinic(request: Request) -> Response:
    form = await form_with_csrf(request)
    ist = flow.read(request).ist
    if not ist:
        raise Redirect("/start-again")
    values = {k: str(v) for k, v in form.multi_items() if k != "csrf_token"}
    name, slug = values.get("name", "").strip(), values.get("slug", "").strip().lower()
    problems: dict[str, str] = {}
    if not 2 <= len(name) <= 128:
        problems["name"] = "Give the clinic a name (2 to 128 characters)."
    if not metadata.slug_is_valid(slug):
        problems["slug"] = "Use 2 to 64 lowercase letters, digits and hyphens, like riverside-family."
    meta = None
    try:
        meta = metadata.ClinicMetadata.model_validate(fields_from_form(form))
    except ValidationError as exc:
        problems.update(metadata.error_messages(exc))
    if problems or meta is None:
        return _form_page(request, values, problems, status_code=400)
    p = portal(request)
    try:
        resp = await p.client.discovery.organizations.create_async(
            intermediate_session_token=ist,
            organization_name=name,
            organization_slug=slug,
            trusted_metadata=metadata.to_trusted_metadata(meta),
            email_allowed_domains=meta.allowed_email_domains or None,
            # Colleagues with an allowed domain may join on their own (discovery shows the clinic).
            email_jit_provisioning="RESTRICTED" if meta.allowed_email_domains else None,
            # Stytch closes invitations when any auth setting (allowed domains included) is given
            # at creation; a clinic invites its staff, contractors from other domains too.
            email_invites="ALL_ALLOWED",
            session_duration_minutes=meta.sessions.absolute_lifetime_minutes,
        )
    except StytchError as exc:
        kind = error_type(exc)
        if errors.intermediate_session_gone(exc):
            raise Redirect("/start-again") from None
        if kind in ("organization_slug_already_used", "invalid_organization_slug"):
            problems["slug"] = "That address is taken or not allowed; choose another."
        elif kind in ("organization_settings_domain_too_common", "organization_settings_invalid_domain"):
            problems["allowed_email_domains"] = exc.details.error_message
        else:
            raise
        return _form_page(request, values, problems, status_code=400)
    if not resp.member_authenticated or not resp.session_token:
        raise PageError(500, "The clinic was created", "but the API did not sign you in. Sign in again.")
    await _provision(request, resp, meta)
    raise Redirect("/home")


async def _provision(request: Request, resp: Any, meta: metadata.ClinicMetadata) -> None:
    """The clinic roles become the organization's RBAC roles; the creator becomes its owner."""
    p = portal(request)
    org_id, member = resp.organization.organization_id, resp.member
    await p.client.rbac.organizations.set_org_policy_async(organization_id=org_id, org_policy=roles.org_policy())
    await p.client.organizations.members.update_async(
        organization_id=org_id, member_id=member.member_id, roles=[roles.OWNER]
    )
    await establish(request, resp, invited=False)
    await run_in_threadpool(
        audit.record,
        p.engine,
        organization_id=org_id,
        actor_member_id=member.member_id,
        actor_email=member.email_address,
        action="clinic.created",
        details={
            "organization_name": resp.organization.organization_name,
            "organization_slug": resp.organization.organization_slug,
            "schema_version": meta.schema_version,
            "clinic_type": meta.clinic_type,
            "owner_role": roles.OWNER,
        },
        session_id=resp.member_session.member_session_id if resp.member_session else None,
    )
