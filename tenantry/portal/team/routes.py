"""Team pages: thin handlers over ``service`` (rules) and ``batches`` (CSV progress)."""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tenantry.portal import pages
from tenantry.portal import roles as clinic
from tenantry.portal.context import PageError, portal
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.session import SignedIn, signed_in
from tenantry.portal.team import batches, csv_rows, service
from tenantry.portal.team.lock import Busy

# How long one progress page works on a batch before answering; the page then refreshes itself.
BATCH_SLICE_SECONDS = 2.0
NOTICES = {
    "invited": "Invitation sent.",
    "resent": "Invitation sent again.",
    "revoked": "Invitation revoked.",
    "role": "Role changed.",
    "removed": "Member removed.",
}


def _grantable(me: SignedIn) -> list[clinic.ClinicRole]:
    return [r for r in clinic.CLINIC_ROLES if clinic.may_grant(me.roles, r.role_id)]


async def _team_page(request: Request, me: SignedIn, *, status_code: int = 200, **extra: Any) -> Response:
    p = portal(request)
    people = await service.members(p.engine, me)
    context = {
        "people": people,
        "grantable": _grantable(me),
        "manages": clinic.manages_team(me.roles),
        "may_act": {m.member_id: clinic.may_act_on(me.roles, m.roles) for m in people},
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "csv_columns": ",".join(csv_rows.COLUMNS),
        "invite": {"email": "", "name": "", "role": ""},
        **extra,
    }
    return pages.render(request, "portal/team/members.html", context, status_code=status_code)


async def team(request: Request) -> Response:
    return await _team_page(request, await signed_in(request))


def _done(request: Request, what: str) -> Response:
    return RedirectResponse(pages.url_for_path(request, f"/team?done={what}"), status_code=303)


async def _refused(request: Request, me: SignedIn, exc: service.Refused, **extra: Any) -> Response:
    return await _team_page(request, me, status_code=exc.status_code, error=exc.message, **extra)


def _field(form: Any, name: str, limit: int = 320) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def invite(request: Request) -> Response:
    me = await signed_in(request)
    form = await form_with_csrf(request)
    p = portal(request)
    raw_email, name, role = _field(form, "email"), _field(form, "name", 200), _field(form, "role", 64)
    entered = {"email": raw_email, "name": name, "role": role}
    email = csv_rows.normalise_email(raw_email)
    if email is None:
        exc = service.Refused("Enter a valid email address.", 400)
        return await _refused(request, me, exc, invite=entered, invalid="email")
    try:
        await service.invite(p.engine, me, email=email, name=name, role=role, invite_url=p.settings.authenticate_url)
    except service.Refused as exc:
        return await _refused(request, me, exc, invite=entered)
    return _done(request, "invited")


async def invite_csv(request: Request) -> Response:
    me = await signed_in(request)
    form = await form_with_csrf(request)
    p = portal(request)
    upload = form.get("file")
    if not clinic.manages_team(me.roles):
        return await _refused(request, me, service.Refused("Only owners and admins may invite staff."))
    if not isinstance(upload, UploadFile):
        return await _refused(request, me, service.Refused("Choose a CSV file to upload.", 400))
    data = await upload.read(csv_rows.MAX_BYTES + 1)
    people = await service.members(p.engine, me)
    try:
        rows = csv_rows.parse(data, actor_roles=me.roles, existing_emails=[m.email for m in people])
    except csv_rows.CsvProblem as exc:
        return await _refused(request, me, service.Refused(str(exc), 400))
    batch_id = await run_in_threadpool(
        lambda: batches.create(
            p.engine,
            organization_id=me.organization_id,
            actor_member_id=me.member_id,
            filename=upload.filename or "upload.csv",
            rows=rows,
        )
    )
    return RedirectResponse(pages.url_for_path(request, f"/team/batches/{batch_id}"), status_code=303)


def _outcome(exc: service.Refused) -> str:
    if exc.status_code == 409:
        return csv_rows.DUPLICATE
    return csv_rows.REFUSED if exc.status_code == 403 else csv_rows.FAILED


async def batch(request: Request) -> Response:
    """Progress of a CSV batch. Each visit also invites the next few waiting rows, then refreshes
    itself (``<meta http-equiv=refresh>``, no JavaScript) until every row has its result. The
    rows were submitted by a CSRF-checked POST; a visit only carries that submission on."""
    me = await signed_in(request)
    p = portal(request)
    batch_id = request.path_params["batch_id"]
    scope = {"batch_id": batch_id, "organization_id": me.organization_id, "actor_member_id": me.member_id}
    found = await run_in_threadpool(lambda: batches.load(p.engine, **scope))
    if found is None:
        raise PageError(404, "No such upload", "This upload does not exist or was made by someone else.")
    deadline = time.monotonic() + BATCH_SLICE_SECONDS
    while not found.finished and time.monotonic() < deadline:
        row = await run_in_threadpool(batches.claim, p.engine, batch_id)
        if row is None:
            break
        outcome, message = csv_rows.INVITED, None
        try:
            await service.invite(
                p.engine, me, email=row.email, name=row.name, role=row.role, invite_url=p.settings.authenticate_url
            )
        except service.Refused as exc:
            outcome, message = _outcome(exc), exc.message
        await run_in_threadpool(batches.finish, p.engine, batch_id, row.line, outcome, message)
    found = await run_in_threadpool(lambda: batches.load(p.engine, **scope))
    assert found is not None
    return pages.render(
        request, "portal/team/batch.html", {"batch": found, "labels": csv_rows.OUTCOME_LABELS, "roles": clinic}
    )


async def _member_action(request: Request, action: str) -> Response:
    me = await signed_in(request)
    form = await form_with_csrf(request)
    p = portal(request)
    member_id = request.path_params["member_id"]
    try:
        if action == "role":
            await service.change_role(p.engine, me, member_id, _field(form, "role", 64))
        elif action == "removed":
            await service.remove(p.engine, me, member_id)
        elif action == "resent":
            await service.resend(p.engine, me, member_id, invite_url=p.settings.authenticate_url)
        else:
            await service.revoke(p.engine, me, member_id)
    except service.Refused as exc:
        return await _refused(request, me, exc)
    except Busy:
        return await _refused(request, me, service.Refused("Another change to the team is running; try again.", 409))
    return _done(request, action)


async def change_role(request: Request) -> Response:
    return await _member_action(request, "role")


async def remove(request: Request) -> Response:
    return await _member_action(request, "removed")


async def resend(request: Request) -> Response:
    return await _member_action(request, "resent")


async def revoke(request: Request) -> Response:
    return await _member_action(request, "revoked")


def routes() -> list[BaseRoute]:
    return [
        Route("/team", team, methods=["GET"]),
        Route("/team/invite", invite, methods=["POST"]),
        Route("/team/invite-csv", invite_csv, methods=["POST"]),
        Route("/team/batches/{batch_id}", batch, methods=["GET"]),
        Route("/team/members/{member_id}/role", change_role, methods=["POST"]),
        Route("/team/members/{member_id}/remove", remove, methods=["POST"]),
        Route("/team/members/{member_id}/resend", resend, methods=["POST"]),
        Route("/team/members/{member_id}/revoke", revoke, methods=["POST"]),
    ]
