"""Where a client on this machine reaches a server that listens on ``--host``/``--port``."""

from __future__ import annotations

import ipaddress

# Listening on every interface: a local client connects through the loopback of the same family.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def local_origin(host: str, port: int) -> str:
    """``http://host:port`` for a client on this machine; an IPv6 literal goes in brackets
    (RFC 3986), without which ``http://::1:8000`` is no URL at all."""
    host = _WILDCARDS.get(host, host)
    try:
        literal_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:  # a name, such as localhost
        literal_v6 = False
    if literal_v6:
        return f"http://[{host.replace('%', '%25')}]:{port}"  # a zone id's % escaped (RFC 6874)
    return f"http://{host}:{port}"
