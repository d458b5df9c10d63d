"""The audit page (owners and admins) and its CSV/JSON export, always of the signed-in clinic.

The organization comes from the session alone; no parameter can name another clinic.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tenantry.portal import pages
from tenantry.portal import roles as clinic
from tenantry.portal.audit import log, query
from tenantry.portal.context import PageError, portal
from tenantry.portal.session import SignedIn, signed_in

PAGE_SIZE = 200


async def _auditor(request: Request) -> SignedIn:
    me = await signed_in(request)
    if not clinic.manages_team(me.roles):
        raise PageError(403, "Owners and admins only", "The audit log is open to the clinic's owners and admins.")
    return me


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC) if value else None
    except ValueError:
        return None


def _filters(request: Request) -> tuple[query.Filters, dict[str, str]]:
    params = request.query_params
    raw = {k: params.get(k, "").strip()[:320] for k in ("action", "actor", "target", "from", "to")}
    until = _day(raw["to"])
    filters = query.Filters(
        action=raw["action"] if raw["action"] in log.ACTIONS else None,
        actor=raw["actor"] or None,
        target=raw["target"] or None,
        since=_day(raw["from"]),
        until=until + timedelta(days=1) if until else None,  # "to" is inclusive of that day
    )
    return filters, raw


async def audit_page(request: Request) -> Response:
    me = await _auditor(request)
    filters, raw = _filters(request)
    events = await run_in_threadpool(
        lambda: query.search(
            portal(request).engine, organization_id=me.organization_id, filters=filters, limit=PAGE_SIZE
        )
    )
    context = {
        "events": events,
        "raw": raw,
        "actions": sorted(log.ACTIONS),
        "page_size": PAGE_SIZE,
        "query": request.url.query,
    }
    return pages.render(request, "portal/audit/events.html", context)


async def export(request: Request) -> Response:
    me = await _auditor(request)
    kind = request.path_params["kind"]
    if kind not in ("csv", "json"):
        raise PageError(404, "Not found", "Exports come as .csv or .json.")
    filters, _ = _filters(request)
    rows = query.iter_events(portal(request).engine, organization_id=me.organization_id, filters=filters)
    chunks: Iterator[str] = query.to_csv(rows) if kind == "csv" else query.to_json(rows)
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="audit-{me.organization_id}-{stamp}.{kind}"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/audit", audit_page, methods=["GET"]),
        Route("/audit/export.{kind:str}", export, methods=["GET"]),
    ]
