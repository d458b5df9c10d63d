"""The clinic's home page and its settings page (session timeouts; owners and admins only)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal import roles
from tenantry.portal.clinics import metadata
from tenantry.portal.clinics.metadata import Timeouts
from tenantry.portal.context import PageError, Redirect
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render
from tenantry.portal.session import SignedIn, signed_in


def may_change_settings(me: SignedIn) -> bool:
    return roles.highest(me.roles) in ("owner", "admin")


async def home(request: Request) -> Response:
    me = await signed_in(request)
    context = {
        "clinic": metadata.from_trusted_metadata(me.trusted_metadata),
        "role": roles.ROLES_BY_ID.get(roles.highest(me.roles) or ""),
        "may_change_settings": may_change_settings(me),
        "clinic_types": metadata.CLINIC_TYPES,
        "ehr_systems": metadata.EHR_SYSTEMS,
        "ehr_flags": metadata.EHR_FLAGS,
    }
    return render(request, "portal/home.html", context)


def _settings_page(
    request: Request, me: SignedIn, values: dict[str, str], problems: dict[str, str], **extra: object
) -> Response:
    context = {"values": values, "errors": problems, "saved": request.query_params.get("saved") == "1", **extra}
    return render(request, "portal/clinic_settings.html", context, status_code=400 if problems else 200)


async def settings_page(request: Request) -> Response:
    me = await signed_in(request)
    if not may_change_settings(me):
        raise PageError(403, "Owners and admins only", "Only the clinic's owners and admins change its settings.")
    values = {
        "idle_timeout_minutes": str(me.timeouts.idle_minutes),
        "absolute_lifetime_minutes": str(me.timeouts.absolute_minutes),
    }
    return _settings_page(request, me, values, {})


async def save_settings(request: Request) -> Response:
    form = await form_with_csrf(request)
    me = await signed_in(request)
    if not may_change_settings(me):
        raise PageError(403, "Owners and admins only", "Only the clinic's owners and admins change its settings.")
    values = {k: str(form.get(k, "")).strip() for k in ("idle_timeout_minutes", "absolute_lifetime_minutes")}
    problems: dict[str, str] = {}
    try:
        updated = metadata.with_timeouts(
            me.trusted_metadata,
            Timeouts(int(values["idle_timeout_minutes"]), int(values["absolute_lifetime_minutes"])),
        )
    except ValueError as exc:  # int() or the policy's own validation (ValidationError is a ValueError)
        if isinstance(exc, ValidationError):
            problems = metadata.error_messages(exc)
        else:
            problems = {"form": "Enter whole numbers of minutes."}
        return _settings_page(request, me, values, problems)
    await me.client.organizations.update_async(organization_id=me.organization_id, trusted_metadata=updated)
    raise Redirect("/clinic/settings?saved=1")
