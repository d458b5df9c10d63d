"""Ports for the servers tests start (Tenantry, PostgreSQL, Redis, SMTP).

Asking the kernel for port 0 and closing the socket hands out a port that is free only until
someone binds it; with several pytest-xdist workers, two servers could be given the same one and
the loser's test would talk to the winner. Each worker therefore takes ports from a block of its
own below Linux's ephemeral range (32768 and up, where the kernel picks port-0 and client ports),
in turn from a random starting point (two test sessions at once rarely march in step), skipping
any that are taken. A server that still loses a port says so: TenantryServer waits for its own
"Uvicorn running on" line, not just for something answering on the port.
"""

from __future__ import annotations

import itertools
import os
import random
import socket

BLOCK = 1000
FIRST = 20000
_turn = itertools.count(random.randrange(BLOCK))


def _block_start() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0) if worker.startswith("gw") else 0
    return FIRST + (index % 12) * BLOCK


def free_port() -> int:
    start = _block_start()
    for _ in range(BLOCK):
        port = start + next(_turn) % BLOCK
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + BLOCK - 1}")
