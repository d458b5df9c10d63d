"""``tenantry projects sandbox pin | list | unpin``: fix test values for chosen addresses."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from tenantry.clock import SystemClock, rfc3339
from tenantry.config import load_settings
from tenantry.db.engine import create_engine, write_transaction
from tenantry.db.migrate import upgrade
from tenantry.projects import service as projects
from tenantry.sandbox import pins

sandbox_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Sandbox values of test projects: pin an email OTP code or magic-link token for an address.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TENANTRY_DATABASE_URL", help="sqlite:///path or postgresql://..."),
]
ProjectId = Annotated[str, typer.Option("--project", help="A test project's id (project-test-…).")]
Email = Annotated[str, typer.Option("--email", help="The address the pinned value is sent to.")]


def _engine(database_url: str | None) -> Engine:
    settings = load_settings()
    engine = create_engine(database_url or settings.database_url)
    upgrade(engine)
    return engine


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@sandbox_app.command("pin")
def pin(
    project: ProjectId,
    email: Email,
    otp_code: Annotated[
        str | None, typer.Option("--otp-code", help="Six digits every email OTP to EMAIL carries.")
    ] = None,
    magic_link_token: Annotated[
        str | None, typer.Option("--magic-link-token", help="The token every magic link to EMAIL carries.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Pin an email OTP code and/or a magic-link token for EMAIL in a test project."""
    wanted = [(pins.EMAIL_OTP, otp_code), (pins.MAGIC_LINK, magic_link_token)]
    wanted = [(kind, value) for kind, value in wanted if value is not None]
    if not wanted:
        raise _fail("give --otp-code and/or --magic-link-token")
    engine = _engine(database_url)
    try:
        with write_transaction(engine) as conn:
            found = projects.get_project(conn, project)
            if found is None:
                raise _fail(f"no project {project}")
            made = [pins.pin(conn, SystemClock(), project=found, email=email, kind=k, value=v) for k, v in wanted]
    except pins.PinRefused as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    for p in made:
        typer.echo(f"pinned {p.kind} for {p.email_address} in {p.project_id}")


@sandbox_app.command("list")
def list_(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List pinned values."""
    engine = _engine(database_url)
    try:
        with write_transaction(engine) as conn:
            found = pins.list_pins(conn, project_id=project)
    finally:
        engine.dispose()
    if as_json:
        rows = [
            {
                "project_id": p.project_id,
                "email_address": p.email_address,
                "kind": p.kind,
                "value": p.value,
                "created_at": rfc3339(p.created_at),
            }
            for p in found
        ]
        typer.echo(json.dumps(rows))
        return
    for p in found:
        typer.echo(f"{p.project_id}\t{p.email_address}\t{p.kind}\t{p.value}")


@sandbox_app.command("unpin")
def unpin(
    project: ProjectId,
    email: Email,
    kind: Annotated[str | None, typer.Option("--kind", help="email_otp or magic_link; both when omitted.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove the pins of EMAIL in a project."""
    if kind is not None and kind not in pins.KINDS:
        raise _fail(f"--kind must be one of {', '.join(pins.KINDS)}")
    engine = _engine(database_url)
    try:
        with write_transaction(engine) as conn:
            removed = pins.unpin(conn, project_id=project, email=email, kind=kind)
    except pins.PinRefused as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"removed {removed} pin(s)")
