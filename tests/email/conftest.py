"""Email test fixtures: a real SMTP server (aiosmtpd), a DKIM key made by ``tenantry mail dns``,
and a person who follows the link in a mail (helpers in ``mailtest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mailtest import DkimKey, Sink, SmtpServer, follow_link, run_cli
from ports import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running aiosmtpd on a free port."""
    server = SmtpServer(Sink(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.sink.hold.clear()
        server.stop()


@pytest.fixture
def smtp_port_closed() -> Iterator[SmtpServer]:
    """An SMTP server not started yet: connections to its port are refused until ``start()``."""
    server = SmtpServer(Sink(), free_port())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dkim_key(tmp_path: Path) -> DkimKey:
    domain, selector = "mail.sunrise-clinic.com", "s2026"
    path = tmp_path / "keys" / "dkim.pem"
    proc = run_cli("mail", "dns", "--domain", domain, "--selector", selector, "--key-file", str(path))
    assert proc.returncode == 0, proc.stderr
    return DkimKey(path, selector, domain, proc.stdout)


@pytest.fixture
def follow() -> Callable[[str], str]:
    return follow_link
