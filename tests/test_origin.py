"""The address ``tenantry serve`` and ``tenantry portal`` mail and print for where they listen."""

from __future__ import annotations

import pytest

from tenantry.origin import local_origin


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("localhost", "http://localhost:8000"),
        ("::1", "http://[::1]:8000"),
        ("fe80::1%eth0", "http://[fe80::1%25eth0]:8000"),
        # Every interface: a client here connects through the loopback of the same family.
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::", "http://[::1]:8000"),
    ],
)
def test_a_local_client_reaches_the_server_at(host: str, origin: str) -> None:
    assert local_origin(host, 8000) == origin
