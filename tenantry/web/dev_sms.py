"""The dev SMS outbox: every text the server sent, as a page and as JSON (development only,
beside the dev mailbox), and the texts it gave up on with the provider's last error."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tenantry.clock import rfc3339
from tenantry.db.engine import read_transaction
from tenantry.sms import outbox
from tenantry.sms.senders import DevSms, DevSmsOutbox

_templates = Environment(loader=PackageLoader("tenantry.web", "templates"), autoescape=select_autoescape())


def _as_json(message: DevSms) -> dict[str, Any]:
    return {
        "id": message.id,
        "to": message.to,
        "body": message.body,
        "codes": message.codes,
        "created_at": rfc3339(message.created_at),
    }


def _outbox_state(engine: Engine) -> tuple[dict[str, int], list[outbox.DeadSms]]:
    with read_transaction(engine) as conn:
        return outbox.status_counts(conn), outbox.dead_letters(conn)


def routes(phone: DevSmsOutbox, engine: Engine) -> list[Route]:
    async def api_messages(request: Request) -> Response:
        messages = await run_in_threadpool(phone.messages, request.query_params.get("to"))
        return JSONResponse([_as_json(m) for m in messages], headers={"Cache-Control": "no-store"})

    async def api_outbox(_request: Request) -> Response:
        counts, dead = await run_in_threadpool(_outbox_state, engine)
        body = {
            "counts": {state: counts.get(state, 0) for state in ("queued", "sent", "dead")},
            "dead": [
                {
                    "id": d.id,
                    "project_id": d.project_id,
                    "to": d.to_number,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "created_at": rfc3339(d.created_at),
                }
                for d in dead
            ],
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        to = request.query_params.get("to")
        messages = await run_in_threadpool(phone.messages, to)
        counts, dead = await run_in_threadpool(_outbox_state, engine)
        html = _templates.get_template("dev_sms.html").render(
            messages=messages, to=to or "", queued=counts.get("queued", 0), dead=dead
        )
        return HTMLResponse(
            html,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'",
            },
        )

    return [
        Route("/dev/sms", page, methods=["GET"]),
        Route("/dev/sms/api/messages", api_messages, methods=["GET"]),
        Route("/dev/sms/api/outbox", api_outbox, methods=["GET"]),
    ]
