"""The auth area's routes."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from tenantry.portal.auth import callback, sign_in, sign_out, switch


def routes() -> list[BaseRoute]:
    return [
        Route("/", sign_in.home_or_sign_in, methods=["GET"]),
        Route("/sign-in", sign_in.sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in.send_link, methods=["POST"]),
        Route("/check-email", sign_in.check_email, methods=["GET"]),
        Route("/check-email/resend", sign_in.resend, methods=["POST"]),
        Route("/start-again", sign_in.start_again, methods=["GET"]),
        Route("/authenticate", callback.authenticate, methods=["GET"]),
        Route("/switch", switch.switch_page, methods=["GET"]),
        Route("/switch", switch.switch, methods=["POST"]),
        Route("/sign-out", sign_out.sign_out, methods=["POST"]),
        Route("/sign-out/everywhere", sign_out.sign_out_everywhere, methods=["POST"]),
        Route("/signed-out", sign_out.signed_out, methods=["GET"]),
        Route("/timed-out", sign_out.timed_out, methods=["GET"]),
    ]
