"""``tenantry mail status | retry | dns`` and ``tenantry projects update --mail-from-…``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from tenantry.clock import SystemClock, rfc3339
from tenantry.config import load_settings
from tenantry.db.engine import create_engine, write_transaction
from tenantry.db.migrate import upgrade
from tenantry.email import dkim_keys, outbox, sender
from tenantry.errors import InvalidEmail
from tenantry.members.emails import normalise_email

mail_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Outgoing mail: delivery state, dead letters, DKIM and DNS.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TENANTRY_DATABASE_URL", help="sqlite:///path or postgresql://..."),
]


def _engine(database_url: str | None) -> Engine:
    engine = create_engine(database_url or load_settings().database_url)
    upgrade(engine)
    return engine


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@mail_app.command("status")
def mail_status(database_url: DatabaseUrl = None) -> None:
    """Count outgoing mail by state (queued, sent, dead) and list the newest dead letters."""
    engine = _engine(database_url)
    with write_transaction(engine) as conn:
        counts = outbox.status_counts(conn)
        dead = outbox.dead_letters(conn, limit=20)
    engine.dispose()
    for state in ("queued", "sent", "dead"):
        typer.echo(f"{state}\t{counts.get(state, 0)}")
    if dead:
        typer.echo("\nDead letters (newest first; `tenantry mail retry ID` or `--all` queues them again):")
        for letter in dead:
            error = " ".join(letter.last_error.split())[:200]
            typer.echo(
                f"{letter.id}\t{rfc3339(letter.created_at)}\t{letter.to_address}\tattempts={letter.attempts}\t{error}"
            )


@mail_app.command("retry")
def mail_retry(
    mail_id: Annotated[str | None, typer.Argument(help="A dead letter's id (from `mail status`).")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="Queue every dead letter again.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Queue dead mail again, with a fresh set of attempts and the same Message-ID."""
    if (mail_id is None) == (not all_dead):
        raise _fail("give either a dead letter's id or --all")
    engine = _engine(database_url)
    with write_transaction(engine) as conn:
        count = outbox.requeue_dead(conn, SystemClock(), mail_id)
    engine.dispose()
    if mail_id is not None and count == 0:
        raise _fail(f"no dead letter {mail_id}")
    typer.echo(f"requeued\t{count}")


@mail_app.command("dns")
def mail_dns(
    domain: Annotated[str, typer.Option("--domain", help="The domain mail is sent from (the From address's).")],
    selector: Annotated[str, typer.Option("--selector", help="DKIM selector.")] = dkim_keys.DEFAULT_SELECTOR,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Private key to use, created if missing. Default: .tenantry/dkim/…pem"),
    ] = None,
    spf: Annotated[
        list[str] | None,
        typer.Option("--spf", help="SPF mechanism of your relay, e.g. include:_spf.example.net (repeatable)."),
    ] = None,
    dmarc_policy: Annotated[str, typer.Option("--dmarc-policy", help="none, quarantine or reject.")] = "quarantine",
    dmarc_report: Annotated[
        str | None, typer.Option("--dmarc-report", help="Address for DMARC aggregate reports (rua).")
    ] = None,
) -> None:
    """Create a DKIM key (RSA-2048, mode 0600) and print the SPF, DKIM and DMARC TXT records to publish.

    The private key is written to a file and never printed. An existing key file is reused, so
    running the command again prints the same records.
    """
    domain = domain.strip().rstrip(".").lower()
    if not dkim_keys.valid_dns_name(domain) or "." not in domain:
        raise _fail(f"{domain!r} is not a domain name")
    if not dkim_keys.valid_dns_name(selector):
        raise _fail(f"{selector!r} is not a DNS label")
    if dmarc_policy not in ("none", "quarantine", "reject"):
        raise _fail("--dmarc-policy must be none, quarantine or reject")
    if dmarc_report is not None:
        try:
            dmarc_report = normalise_email(dmarc_report)
        except InvalidEmail:
            raise _fail(f"--dmarc-report {dmarc_report!r} is not an email address") from None
    mechanisms = list(spf) if spf else ["mx"]
    if any(not m or any(ch.isspace() or ch == '"' for ch in m) for m in mechanisms):
        raise _fail("an SPF mechanism is one word, such as mx, a, ip4:192.0.2.1 or include:example.net")
    path = key_file or Path(".tenantry") / "dkim" / f"{domain}.{selector}.pem"
    created = not path.exists()
    if created:
        dkim_keys.generate_key_file(path)
    try:
        public_key = dkim_keys.public_key_base64(path)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    records = dkim_keys.dns_records(
        domain=domain,
        selector=selector,
        public_key=public_key,
        spf_mechanisms=mechanisms,
        dmarc_policy=dmarc_policy,
        dmarc_report_address=dmarc_report,
    )
    typer.echo(f"{'Created' if created else 'Using'} the DKIM private key {path.resolve()} (keep it secret).")
    typer.echo(f"\nPublish these TXT records in the DNS zone of {domain}:\n")
    for record in records:
        typer.echo(f"; {record.kind}")
        typer.echo(record.zone_line())
    typer.echo(
        "\nSPF must list every host that relays Tenantry's mail (the mx default is a guess: add "
        "your relay's --spf include:…).\nThen start Tenantry with:\n"
        f"  TENANTRY_DKIM_PRIVATE_KEY_FILE={path.resolve()}\n"
        f"  TENANTRY_DKIM_SELECTOR={selector}\n"
        f"  TENANTRY_DKIM_DOMAIN={domain}\n"
        f"  TENANTRY_MAIL_FROM='Your Name <no-reply@{domain}>'"
    )


def projects_update(
    project_id: Annotated[str, typer.Argument(help="The project to change.")],
    mail_from_name: Annotated[
        str | None, typer.Option("--mail-from-name", help="Sender name of its mail ('' for the default).")
    ] = None,
    mail_from_address: Annotated[
        str | None, typer.Option("--mail-from-address", help="Sender address of its mail ('' for the default).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Change a project's mail sender; unset parts come from TENANTRY_MAIL_FROM. Prints the result."""
    engine = _engine(database_url)
    try:
        with write_transaction(engine) as conn:
            found = sender.update(conn, project_id, name=mail_from_name, address=mail_from_address)
            current = sender.get(conn, project_id)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    if not found:
        raise _fail(f"no project {project_id}")
    typer.echo(f"mail_from_name\t{current.name or '(TENANTRY_MAIL_FROM)'}")
    typer.echo(f"mail_from_address\t{current.address or '(TENANTRY_MAIL_FROM)'}")
