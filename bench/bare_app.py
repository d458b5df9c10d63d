"""A bare JSON endpoint on Tenantry's server stack (Starlette on uvicorn, started with the options
``tenantry serve`` passes): the HTTP ceiling that bench/sessions_auth.py compares against.

    .venv/bin/python bench/bare_app.py --port 8001 [--workers 1]
"""

from __future__ import annotations

import argparse
import json

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenantry.http_protocol import CoalescingHttpToolsProtocol


async def echo(request: Request) -> Response:
    # Parse the body and answer JSON, as every API route does, with no work in between.
    body = json.loads(await request.body())
    return JSONResponse({"status_code": 200, "request_id": "bare", "keys": sorted(body)})


async def healthz(_request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app() -> Starlette:
    return Starlette(routes=[Route("/bare", echo, methods=["POST"]), Route("/healthz", healthz)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    # The same uvicorn.run options as tenantry.cli.serve.
    uvicorn.run(
        "bare_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        access_log=False,
        http=CoalescingHttpToolsProtocol,
        log_level="warning",
        proxy_headers=False,
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":
    main()
