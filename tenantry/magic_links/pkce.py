"""PKCE for magic links (RFC 7636, S256 only), with Stytch's error types."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from tenantry.errors import BadRequest

VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


class InvalidPkceCodeChallenge(BadRequest):
    error_type = "invalid_pkce_code_challenge"
    error_message = "pkce_code_challenge must be the base64url (unpadded) SHA-256 of a code verifier."


class PkceExpectedCodeVerifier(BadRequest):
    error_type = "pkce_expected_code_verifier"
    error_message = (
        "This link was sent with a PKCE code challenge: finish on the device where you started, "
        "passing pkce_code_verifier."
    )


class PkceDidNotExpectCodeVerifier(BadRequest):
    error_type = "pkce_did_not_expect_code_verifier"
    error_message = "A pkce_code_verifier was given but the link was sent without a code challenge."


class PkceMismatch(BadRequest):
    error_type = "pkce_mismatch"
    error_message = "The pkce_code_verifier does not match the code challenge the link was sent with."


def validate_challenge(challenge: str) -> str:
    if not CHALLENGE_RE.fullmatch(challenge):
        raise InvalidPkceCodeChallenge()
    return challenge


def check(stored_challenge: str | None, verifier: str | None) -> None:
    if stored_challenge is None:
        if verifier:
            raise PkceDidNotExpectCodeVerifier()
        return
    if not verifier:
        raise PkceExpectedCodeVerifier()
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    if not VERIFIER_RE.fullmatch(verifier) or not hmac.compare_digest(computed, stored_challenge):
        raise PkceMismatch()
