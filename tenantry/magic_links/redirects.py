"""Redirect URLs must exactly match the project's allow-list (no open redirects)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tenantry import errors
from tenantry.projects.service import Project


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def resolve(
    project: Project,
    given: str | None,
    *,
    invalid: type[errors.BadRequest],
    missing: type[errors.BadRequest] = errors.NoDiscoveryRedirectUrlsSet,
) -> str:
    """The redirect URL to put in a link: the given one if allowed, else the project default."""
    if not given:
        if not project.redirect_urls:
            raise missing()
        return project.redirect_urls[0]
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment or "@" in parts.netloc:
        raise invalid()
    if _without_query(given) not in {_without_query(u) for u in project.redirect_urls}:
        raise errors.NoMatchForProvidedMagicLinkUrl()
    return given


def with_token(redirect_url: str, token_type: str, token: str) -> str:
    parts = urlsplit(redirect_url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("stytch_token_type", "token")
    ]
    query += [("stytch_token_type", token_type), ("token", token)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
