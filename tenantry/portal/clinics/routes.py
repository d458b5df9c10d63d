"""The clinics area's routes."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from tenantry.portal.clinics import choose, create, settings_page


def routes() -> list[BaseRoute]:
    return [
        Route("/clinics", choose.choose_page, methods=["GET"]),
        Route("/clinics/select", choose.select, methods=["POST"]),
        Route("/clinics/new", create.new_clinic_page, methods=["GET"]),
        Route("/clinics/new", create.create_clinic, methods=["POST"]),
        Route("/home", settings_page.home, methods=["GET"]),
        Route("/clinic/settings", settings_page.settings_page, methods=["GET"]),
        Route("/clinic/settings", settings_page.save_settings, methods=["POST"]),
    ]
