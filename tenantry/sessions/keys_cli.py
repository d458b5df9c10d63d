"""``tenantry keys rotate | list``: the session-JWT signing keys of each project."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy.engine import Connection

from tenantry.clock import SystemClock, rfc3339
from tenantry.config import load_settings
from tenantry.db.engine import create_engine, write_transaction
from tenantry.db.migrate import upgrade
from tenantry.projects import service as projects
from tenantry.sessions import keys

keys_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Session JWT signing keys: rotate them, list them.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TENANTRY_DATABASE_URL", help="sqlite:///path or postgresql://..."),
]
Project = Annotated[str | None, typer.Option("--project", help="Only this project (default: every project).")]


def _project_ids(conn: Connection, project_id: str | None) -> list[str]:
    known = [p.project_id for p in projects.list_projects(conn)]
    if project_id is None:
        return known
    if project_id not in known:
        typer.echo(f"No project {project_id}.", err=True)
        raise typer.Exit(1)
    return [project_id]


@keys_app.command("rotate")
def rotate(
    project: Project = None,
    activate_in: Annotated[
        int,
        typer.Option(
            min=0,
            help="Seconds the new key is in the JWKS before it signs. The default outlasts the SDKs' "
            "30 s refusal to refetch a JWKS for an unknown kid; 330 lets every cached JWKS (5 minutes) "
            "learn it first; 0 switches at once.",
        ),
    ] = 60,
    database_url: DatabaseUrl = None,
) -> None:
    """A new RS256 key signs new session JWTs (at once, or after --activate-in), in every worker.
    The old key stays in the JWKS 6 minutes longer (the 5 minutes its last JWTs live, plus a
    margin), then disappears."""
    engine = create_engine(database_url or load_settings().database_url)
    upgrade(engine)
    try:
        with write_transaction(engine) as conn:
            clock, delay = SystemClock(), timedelta(seconds=activate_in)
            rotated = [
                (pid, *keys.rotate(conn, clock, project_id=pid, activate_in=delay))
                for pid in _project_ids(conn, project)
            ]
    finally:
        engine.dispose()
    served = int(keys.RETIRED_KEY_SERVED.total_seconds()) + activate_in
    for project_id, new_kid, retired in rotated:
        typer.echo(
            f"{project_id}\tcurrent {new_kid} (signs in {activate_in} s)\t"
            f"retired {' '.join(retired) or '-'} (in the JWKS {served} s more)"
        )


@keys_app.command("list")
def list_keys(project: Project = None, database_url: DatabaseUrl = None) -> None:
    """Every stored key: project, kid, created, retired (or "current")."""
    engine = create_engine(database_url or load_settings().database_url)
    upgrade(engine)
    try:
        with write_transaction(engine) as conn:
            rows = [(pid, *key) for pid in _project_ids(conn, project) for key in keys.list_keys(conn, pid)]
    finally:
        engine.dispose()
    for project_id, kid, created_at, retired_at in rows:
        state = f"retired {rfc3339(retired_at)}" if retired_at else "current"
        typer.echo(f"{project_id}\t{kid}\tcreated {rfc3339(created_at)}\t{state}")
