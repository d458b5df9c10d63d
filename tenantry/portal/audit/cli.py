"""``tenantry audit verify | export``: check the portal's audit chain, or write it out."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tenantry.config import load_settings
from tenantry.db.engine import create_engine
from tenantry.db.migrate import upgrade
from tenantry.portal.audit import chain, query

audit_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="The clinic portal's delegation audit log: verify its hash chain, export it.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TENANTRY_DATABASE_URL", help="sqlite:///path or postgresql://..."),
]


class Format(StrEnum):
    csv = "csv"
    json = "json"


@audit_app.command("verify")
def verify(database_url: DatabaseUrl = None) -> None:
    """Check every event's hash and link. Exit 0 when intact, 1 naming the first broken row."""
    engine = create_engine(database_url or load_settings().database_url)
    try:
        upgrade(engine)
        result = chain.verify(engine)
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(f"ok: {result.checked} events, chain head {result.head_seq} {result.head_hash}")
        return
    typer.echo(f"BROKEN at row {result.broken_seq}: {result.reason} ({result.checked} events intact before it)")
    raise typer.Exit(1)


@audit_app.command("export")
def export(
    format: Annotated[Format, typer.Option("--format", help="csv or json")] = Format.json,
    organization_id: Annotated[
        str | None, typer.Option("--organization-id", help="Only this clinic's events (default: all).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the events, oldest first, with their hashes (the JSON export can be re-verified)."""
    engine = create_engine(database_url or load_settings().database_url)
    try:
        upgrade(engine)
        rows = query.iter_events(engine, organization_id=organization_id)
        chunks = query.to_csv(rows) if format is Format.csv else query.to_json(rows)
        if output is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                for chunk in chunks:
                    fh.write(chunk)
    finally:
        engine.dispose()
