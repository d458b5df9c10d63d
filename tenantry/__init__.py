"""Tenantry: a self-hosted server that speaks Stytch's B2B API."""

__version__ = "0.1.0"
