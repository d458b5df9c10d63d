"""The dev mailbox: every mail the server sent, as a page and as JSON (development only)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tenantry.clock import rfc3339
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


def routes(mailbox: DevMailbox) -> list[Route]:
    async def api_messages(request: Request) -> Response:
        messages = await run_in_threadpool(mailbox.messages, request.query_params.get("to"))
        return JSONResponse([_as_json(m) for m in messages], headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        to = request.query_params.get("to")
        messages = await run_in_threadpool(mailbox.messages, to)
        html = _templates.get_template("dev_mailbox.html").render(messages=messages, to=to or "")
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
    ]
