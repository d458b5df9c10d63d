"""The dev mailbox: every mail the server sent, as a page and as JSON (development only), and
the mail it gave up on (dead letters) with the last error, so a failing delivery is not silent."""

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
from tenantry.email import outbox
from tenantry.email.backends import DevMailbox, DevMessage

_templates = Environment(loader=PackageLoader("tenantry.web", "templates"), autoescape=select_autoescape())


def _as_json(message: DevMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "to": message.to,
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "links": message.links,
        "created_at": rfc3339(message.created_at),
    }


def _dead_as_json(letter: outbox.DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "project_id": letter.project_id,
        "message_id": letter.message_id,
        "to": letter.to_address,
        "subject": letter.subject,
        "attempts": letter.attempts,
        "last_error": letter.last_error,
        "created_at": rfc3339(letter.created_at),
    }


def _outbox_state(engine: Engine) -> tuple[dict[str, int], list[outbox.DeadLetter]]:
    with read_transaction(engine) as conn:
        return outbox.status_counts(conn), outbox.dead_letters(conn)


def routes(mailbox: DevMailbox, engine: Engine) -> list[Route]:
    async def api_messages(request: Request) -> Response:
        messages = await run_in_threadpool(mailbox.messages, request.query_params.get("to"))
        return JSONResponse([_as_json(m) for m in messages], headers={"Cache-Control": "no-store"})

    async def api_outbox(_request: Request) -> Response:
        counts, dead = await run_in_threadpool(_outbox_state, engine)
        body = {
            "counts": {state: counts.get(state, 0) for state in ("queued", "sent", "dead")},
            "dead": [_dead_as_json(d) for d in dead],
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        to = request.query_params.get("to")
        messages = await run_in_threadpool(mailbox.messages, to)
        counts, dead = await run_in_threadpool(_outbox_state, engine)
        html = _templates.get_template("dev_mailbox.html").render(
            messages=messages, to=to or "", queued=counts.get("queued", 0), dead=dead
        )
        return HTMLResponse(
            html,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                # Mail HTML is shown in a sandboxed frame: it can neither run script nor reach us.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; "
                "img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            },
        )

    return [
        Route("/dev/mailbox", page, methods=["GET"]),
        Route("/dev/mailbox/api/messages", api_messages, methods=["GET"]),
        Route("/dev/mailbox/api/outbox", api_outbox, methods=["GET"]),
    ]
