"""``tenantry serve | migrate | projects ...``"""

from __future__ import annotations

import json
import logging.config
import os
from typing import Annotated

import typer
import uvicorn

from tenantry.clock import SystemClock
from tenantry.config import Settings, SettingsError, load_settings
from tenantry.db.engine import create_engine, write_transaction
from tenantry.db.migrate import upgrade
from tenantry.email.cli import mail_app, projects_update
from tenantry.email.delivery import delivery_policy
from tenantry.http_protocol import CoalescingHttpToolsProtocol
from tenantry.memory import limit_malloc_arenas
from tenantry.observability.logs import log_config
from tenantry.observability.multiprocess import metrics_directory
from tenantry.origin import local_origin
from tenantry.otps import settings as otp_settings
from tenantry.portal import cli as portal_cli
from tenantry.portal import dev as portal_dev
from tenantry.portal.audit.cli import audit_app
from tenantry.projects import service as projects
from tenantry.sandbox.cli import sandbox_app
from tenantry.sessions.keys_cli import keys_app

app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Tenantry: a self-hosted server that speaks Stytch's B2B API.",
    no_args_is_help=True,
)
projects_app = typer.Typer(
    pretty_exceptions_show_locals=False, help="Manage projects (tenants of this server).", no_args_is_help=True
)
app.add_typer(projects_app, name="projects")
projects_app.add_typer(sandbox_app, name="sandbox")
app.add_typer(mail_app, name="mail")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.command("portal")(portal_cli.portal)
projects_app.command("update")(projects_update)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TENANTRY_DATABASE_URL", help="sqlite:///path or postgresql://..."),
]


def _settings(database_url: str | None) -> Settings:
    settings = load_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply database migrations."""
    settings = _settings(database_url)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    typer.echo("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (they share the database).")] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Migrate the database and serve the API (and, in development, the dev mailbox)."""
    limit_malloc_arenas()  # first, before threads allocate
    settings = _settings(database_url)
    origin = local_origin(host, port)
    if settings.mode == "development" and "public_url" not in settings.model_fields_set:
        # Mailed links and the portal's address follow where this server listens; the default
        # (port 8000) would otherwise send links to a server that is not there. The workers are
        # separate processes and read it from the environment.
        public_url = origin
        settings = settings.model_copy(update={"public_url": public_url})
        os.environ["TENANTRY_PUBLIC_URL"] = public_url
    if settings.mode == "production" and not settings.smtp_url:
        typer.echo("TENANTRY_MODE=production needs TENANTRY_SMTP_URL: mail would otherwise be lost.", err=True)
        raise typer.Exit(2)
    try:
        delivery_policy(settings)  # a DKIM key that does not load stops start-up here, clearly
    except (OSError, ValueError) as exc:
        typer.echo(f"TENANTRY_DKIM_*: {exc}", err=True)
        raise typer.Exit(2) from None
    engine = create_engine(settings.database_url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        existing = projects.list_projects(conn)
        created = None
        if not existing:
            created = projects.create_project(conn, SystemClock(), name="Default project")
    portal_env = None
    if settings.mode == "development":
        portal_env = portal_dev.ensure_dev_credentials(engine, settings, created)[0]
    engine.dispose()
    if created is not None:
        project, secret = created
        typer.echo("Created a test project. Its secret is shown only this once:")
        typer.echo(f"  project_id: {project.project_id}")
        typer.echo(f"  secret:     {secret}")
        typer.echo(f"  redirect URL allowed: {', '.join(project.redirect_urls)}")
    else:
        typer.echo("Projects: " + ", ".join(p.project_id for p in existing))
    if settings.dev_mailbox_enabled:
        typer.echo(f"Dev mailbox: {origin}/dev/mailbox")
    typer.echo(f'Stytch SDKs: B2BClient(project_id, secret, environment="{origin}")', err=False)
    if portal_env is not None:
        portal_dev.export_environment(portal_env, settings, origin)
        typer.echo(f"Clinic portal: {settings.public_url.rstrip('/')}/portal (its credentials: {portal_env})")
    # Workers are separate processes: they learn their settings from the environment.
    os.environ["TENANTRY_DATABASE_URL"] = settings.database_url
    # Every log line of every process, uvicorn's included, is one JSON object (TENANTRY_LOG_FORMAT).
    logging_config = log_config(settings.log_level, json_lines=settings.log_format == "json")
    logging.config.dictConfig(logging_config)
    # Several workers add up their Prometheus counters through files in one directory.
    with metrics_directory(workers):
        uvicorn.run(
            "tenantry.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            # uvicorn's httptools protocol, with an answer's headers and body in one socket write.
            http=CoalescingHttpToolsProtocol,
            log_config=logging_config,
            log_level=settings.log_level,
            # uvicorn would otherwise take X-Forwarded-For from 127.0.0.1 as the client address;
            # which proxies to believe is TENANTRY_TRUSTED_PROXIES' decision (tenantry.ratelimit).
            proxy_headers=False,
            # uvicorn kills a worker that misses a 5 s health ping; on a loaded 2-core machine a
            # worker still importing can miss it, and the kill-restart loop never converges.
            timeout_worker_healthcheck=60,
        )


@projects_app.command("create")
def projects_create(
    name: Annotated[str, typer.Option(help="A name for people.")],
    live: Annotated[bool, typer.Option("--live", help="Create a live project instead of a test one.")] = False,
    redirect_url: Annotated[
        list[str] | None, typer.Option("--redirect-url", help="Allowed redirect URL (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a project and print its id and secret (the secret is not stored in clear)."""
    settings = _settings(database_url)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        project, secret = projects.create_project(
            conn,
            SystemClock(),
            name=name,
            environment="live" if live else "test",
            redirect_urls=list(redirect_url) if redirect_url else None,
        )
    engine.dispose()
    if as_json:
        typer.echo(json.dumps({"project_id": project.project_id, "secret": secret}))
    else:
        typer.echo(f"project_id: {project.project_id}\nsecret:     {secret}")


@projects_app.command("list")
def projects_list(database_url: DatabaseUrl = None) -> None:
    """List projects."""
    settings = _settings(database_url)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        for project in projects.list_projects(conn):
            typer.echo(f"{project.project_id}\t{project.name}\t{' '.join(project.redirect_urls)}")
    engine.dispose()


@projects_app.command("otp")
def projects_otp(
    project_id: Annotated[str, typer.Argument(help="The project to configure.")],
    code_in_magic_link_email: Annotated[
        bool | None,
        typer.Option(
            "--code-in-magic-link-email/--no-code-in-magic-link-email",
            help="Put an email OTP code into magic-link mails too (for a link opened on another device).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show or change a project's email OTP settings."""
    settings = _settings(database_url)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        found = projects.get_project(conn, project_id) is not None
        if found and code_in_magic_link_email is not None:
            otp_settings.set_code_in_magic_link_email(conn, SystemClock(), project_id, code_in_magic_link_email)
        enabled = otp_settings.code_in_magic_link_email(conn, project_id)
    engine.dispose()
    if not found:
        typer.echo(f"No project {project_id}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"code_in_magic_link_email\t{'on' if enabled else 'off'}")


def main() -> None:
    """The ``tenantry`` command: a settings mistake is one line on stderr, not a traceback."""
    try:
        app(prog_name="tenantry")
    except SettingsError as exc:
        typer.echo(f"tenantry: {exc}", err=True)
        raise SystemExit(2) from None
