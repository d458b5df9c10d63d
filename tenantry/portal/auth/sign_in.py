"""One email field, "check your email", resend, and the "start again" page.

Discovery: the link does not commit the person to a clinic; after it they see every clinic
they belong to, are invited to, or may join by their email's domain, and may create one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from starlette.requests import Request
from starlette.responses import Response

from tenantry.portal.auth import flow
from tenantry.portal.client import StytchError, error_type
from tenantry.portal.context import Redirect, portal
from tenantry.portal.csrf import form_with_csrf
from tenantry.portal.pages import render
from tenantry.portal.session import session_token


def _normalized_email(raw: str) -> str | None:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


async def _send(request: Request, email: str) -> str | None:
    """Send the discovery link; a sentence for the person when the API refused."""
    p = portal(request)
    try:
        await p.client.magic_links.email.discovery.send_async(
            email_address=email,
            discovery_redirect_url=p.settings.authenticate_url,
            discovery_expiration_minutes=p.settings.link_minutes,
        )
    except StytchError as exc:
        if error_type(exc) in ("too_many_requests", "rate_limit_exceeded"):
            return "Too many sign-in emails were sent to this address just now. Wait a minute and try again."
        if error_type(exc) == "invalid_email":
            return "That does not look like an email address."
        raise
    flow.write(request, flow.Flow(email=email, sent_at=flow.now()))
    return None


async def home_or_sign_in(request: Request) -> Response:
    raise Redirect("/home" if session_token(request) else "/sign-in")


async def sign_in_page(request: Request) -> Response:
    return render(request, "portal/sign_in.html", {"email": flow.read(request).email, "error": None})


async def send_link(request: Request) -> Response:
    form = await form_with_csrf(request)
    raw = str(form.get("email", ""))
    email = _normalized_email(raw)
    problem = "Enter your work email address, like name@clinic.example." if email is None else None
    if email is not None:
        problem = await _send(request, email)
    if problem is not None:
        return render(request, "portal/sign_in.html", {"email": raw, "error": problem}, status_code=400)
    raise Redirect("/check-email")


def _good_until(sent_at: int, minutes: int) -> str:
    return datetime.fromtimestamp(sent_at + minutes * 60, UTC).strftime("%H:%M UTC")


async def check_email(request: Request) -> Response:
    current = flow.read(request)
    if not current.email:
        raise Redirect("/sign-in")
    minutes = portal(request).settings.link_minutes
    return render(
        request,
        "portal/check_email.html",
        {
            "email": current.email,
            "minutes": minutes,
            "good_until": _good_until(current.sent_at, minutes),
            "resent": request.query_params.get("resent") == "1",
            "error": None,
        },
    )


async def resend(request: Request) -> Response:
    await form_with_csrf(request)
    current = flow.read(request)
    if not current.email:
        raise Redirect("/sign-in")
    problem = await _send(request, current.email)
    if problem is not None:
        minutes = portal(request).settings.link_minutes
        context = {
            "email": current.email,
            "minutes": minutes,
            "good_until": _good_until(current.sent_at, minutes),
            "resent": False,
            "error": problem,
        }
        return render(request, "portal/check_email.html", context, status_code=429)
    raise Redirect("/check-email?resent=1")


async def start_again(request: Request) -> Response:
    """The tutorial's first pitfall, as a page: the ten minutes after the link are over."""
    return render(request, "portal/start_again.html", {"email": flow.read(request).email}, status_code=200)
