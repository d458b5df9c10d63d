"""Email OTP codes: how one is made, and the keyed digest that is all the database keeps of it.

A six-digit code has only 20 bits, so a plain hash of it is reversed by trying all million
values. The digest is an HMAC under the project's key (``tenantry.otps.settings``) over the code
and a per-code random challenge id, so equal codes never share a digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.engine import Connection

from tenantry.sandbox import pins as sandbox_pins

CODE_DIGITS = 6


def new_code(conn: Connection, *, project_id: str, email: str) -> str:
    """The one place an email OTP code is made, for every flow that mails one.

    It takes the project and the address because a test project may pin the code of a chosen
    address (the sandbox hooks in here); otherwise the code is uniform over 000000-999999.
    """
    pinned = sandbox_pins.pinned_otp_code(conn, project_id=project_id, email=email)
    if pinned is not None:
        return pinned
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def well_formed(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


def digest(key: bytes, challenge_id: str, code: str) -> str:
    return hmac.new(key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def matches(key: bytes, challenge_id: str, code: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key, challenge_id, code), stored_digest)
