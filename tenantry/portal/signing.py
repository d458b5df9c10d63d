"""Signed cookie values: JSON, base64url, HMAC-SHA256 under the portal's cookie keys.

The portal keeps no state in process memory: what it must remember between requests (the
session token, the last activity, the sign-in flow) travels in cookies it signed. Signing proves
the portal wrote the value; each value names its purpose so one cookie cannot stand in for
another. Values are not encrypted: cookies are HttpOnly and hold nothing the browser's owner may
not see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import SecretStr


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, keys: list[SecretStr]) -> None:
        if not keys:
            raise ValueError("a signer needs at least one key")
        self._keys = [k.get_secret_value().encode() for k in keys]

    def _mac(self, key: bytes, purpose: str, body: str) -> str:
        return _b64(hmac.new(key, f"{purpose}|{body}".encode(), hashlib.sha256).digest())

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(self._keys[0], purpose, body)}"

    def unsign(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        """The payload, or None when the value is missing, malformed or signed by no key of ours."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        # Every key is tried, so a match does not reveal which key signed it by timing.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(mac, self._mac(key, purpose, body))
        if not matched:
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def mac(self, purpose: str, text: str) -> str:
        """A keyed digest of ``text`` (CSRF tokens)."""
        return self._mac(self._keys[0], purpose, text)

    def verify_mac(self, purpose: str, text: str, mac: str) -> bool:
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(mac.encode(), self._mac(key, purpose, text).encode())
        return matched
