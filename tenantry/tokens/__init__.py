"""Random tokens and their at-rest digests.

Every high-entropy secret (magic-link tokens, intermediate session tokens, session tokens,
project secrets) is stored only as its SHA-256 digest. Lookups happen by digest, so the
database never compares a plaintext secret and a dump reveals nothing usable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def magic_link_token() -> str:
    """32 random bytes, base64url with padding: the shape of Stytch's magic-link tokens."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def session_token() -> str:
    """33 random bytes, base64url without padding (44 chars), like Stytch's session tokens."""
    return secrets.token_urlsafe(33)


def project_secret(environment: str) -> str:
    return f"secret-{environment}-" + base64.urlsafe_b64encode(secrets.token_bytes(26)).decode()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(token), stored_digest)
