"""The clinic onboarding portal: Tenantry's tutorial outcome as a product.

It talks to a Stytch-compatible API (Tenantry, or Stytch's cloud) only through the official
``stytch`` SDK; its own state (audit log) lives in ``portal_*`` tables. ``create_portal`` in
``tenantry.portal.app`` builds the ASGI app.
"""
