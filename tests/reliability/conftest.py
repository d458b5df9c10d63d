"""Fixtures of the reliability suite: a database on the module's own PostgreSQL cluster
(``private_postgres`` in tests/conftest.py) for the test that stops and starts it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.fixture
def private_database_url(root_conftest: Any, private_postgres: Any) -> str:
    dbname = f"r_{uuid.uuid4().hex}"
    admin_url = private_postgres.admin_url
    root_conftest._pg_execute(admin_url, f'CREATE DATABASE "{dbname}"')
    # The cluster runs with synchronous_commit=off (fast tests), which lets an immediate stop
    # lose commits already acknowledged, and so would make "nothing lost" untestable. A
    # database setting overrides the server's command line.
    root_conftest._pg_execute(admin_url, f'ALTER DATABASE "{dbname}" SET synchronous_commit = on')
    return root_conftest._with_database(admin_url, dbname)
