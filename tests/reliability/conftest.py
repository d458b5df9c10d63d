"""Fixtures of the reliability suite: the shared root conftest's helpers, and a PostgreSQL
cluster of its own for the test that stops and starts it (the shared one serves other tests)."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def root_conftest(config: pytest.Config) -> ModuleType:
    """tests/conftest.py as pytest loaded it. Importing it by name is unreliable: every
    directory's conftest.py is a module called ``conftest``."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and Path(getattr(plugin, "__file__", "") or "").resolve() == ROOT_CONFTEST:
            return plugin
    raise RuntimeError(f"{ROOT_CONFTEST} is not loaded")


@pytest.fixture(scope="module")
def private_postgres(request: pytest.FixtureRequest) -> Iterator[object]:
    """A throwaway PostgreSQL cluster that only this module uses, so a test may stop it.

    ``stop()``/``start()`` of the running server are ``pg_stop``/``pg_start`` below.
    """
    base = root_conftest(request.config)
    cluster = base.PostgresCluster()
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        message = f"PostgreSQL could not be started: {exc}"
        if base.postgres_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def private_database_url(request: pytest.FixtureRequest, private_postgres: object) -> str:
    base = root_conftest(request.config)
    dbname = f"r_{uuid.uuid4().hex}"
    admin_url = private_postgres.admin_url  # type: ignore[attr-defined]
    base._pg_execute(admin_url, f'CREATE DATABASE "{dbname}"')
    # The cluster runs with synchronous_commit=off (fast tests), which lets an immediate stop
    # lose commits already acknowledged, and so would make "nothing lost" untestable. A
    # database setting overrides the server's command line.
    base._pg_execute(admin_url, f'ALTER DATABASE "{dbname}" SET synchronous_commit = on')
    return base._with_database(admin_url, dbname)


def pg_stop(cluster: object, mode: str = "immediate") -> None:
    """Stop the cluster's server; ``immediate`` is a crash: no checkpoint, clients cut off."""
    opts = Path(cluster.datadir) / "postmaster.opts"  # type: ignore[attr-defined]
    cluster.saved_opts = opts.read_text()  # type: ignore[attr-defined]
    cluster._run([cluster.pg_ctl, "-D", str(cluster.datadir), "-m", mode, "-w", "stop"], timeout=60)  # type: ignore[attr-defined]


def pg_start(cluster: object) -> None:
    """Start it again with the options it ran with (port, socket directory, settings)."""
    argv = shlex.split(cluster.saved_opts)[1:]  # type: ignore[attr-defined]
    if "-D" in argv:
        i = argv.index("-D")
        del argv[i : i + 2]
    cluster._run(  # type: ignore[attr-defined]
        [cluster.pg_ctl, "-D", str(cluster.datadir), "-l", str(cluster.logfile), "-w", "-t", "60",  # type: ignore[attr-defined]
         "-o", shlex.join(argv), "start"],
        timeout=90,
    )  # fmt: skip
