"""The sign-in flow's state between pages, in a signed cookie (no server memory).

``email`` and ``sent_at`` let "Check your email" say where the link went and until when it is
good, and let the person resend it. ``ist`` is the intermediate session token the discovery
link gave: it lets the person choose or create a clinic for ten minutes (Stytch's window), and
every page that uses it turns its expiry into the "start again" page instead of an error.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from starlette.requests import Request

from tenantry.portal import cookies
from tenantry.portal.context import portal

_PURPOSE = "flow"


@dataclass(frozen=True)
class Flow:
    email: str = ""
    sent_at: int = 0
    ist: str = ""
    ist_at: int = 0


def read(request: Request) -> Flow:
    p = portal(request)
    payload = p.signer.unsign(_PURPOSE, p.cookies.read(request, cookies.FLOW)) or {}
    try:
        return Flow(
            email=str(payload.get("email", "")),
            sent_at=int(payload.get("sent_at", 0)),
            ist=str(payload.get("ist", "")),
            ist_at=int(payload.get("ist_at", 0)),
        )
    except (TypeError, ValueError):
        return Flow()


def write(request: Request, flow: Flow) -> None:
    p = portal(request)
    # A day is plenty for a sign-in in progress; the API enforces the real windows.
    cookies.queue(request, p.cookies, cookies.FLOW, p.signer.sign(_PURPOSE, asdict(flow)), max_age=86400)


def clear(request: Request) -> None:
    cookies.queue_delete(request, portal(request).cookies, cookies.FLOW)


def now() -> int:
    return int(time.time())
