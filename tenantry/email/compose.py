"""Queue a templated mail as the project sends it: its sender, the organization's branding, the
requested locale. Called inside the transaction of the change that causes the mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tenantry.clock import Clock
from tenantry.email import outbox, sender
from tenantry.email.render import render
from tenantry.organizations.models import Organization


def queue_templated(
    conn: Connection,
    clock: Clock,
    *,
    project_id: str,
    to: str,
    template: str,
    message_domain: str,
    locale: str | None = None,
    organization: Organization | None = None,
    project_sender: sender.ProjectSender | None = None,
    **context: Any,
) -> str:
    """Render ``template`` (see ``tenantry.email.render``) and put it in the outbox; returns its id.

    ``project_sender`` is the project's sender when the caller read it in this transaction
    (``Project.sender``); otherwise it is read here."""
    if project_sender is None:
        project_sender = sender.get(conn, project_id)
    mail = render(
        template,
        locale=locale,
        organization_name=organization.name if organization is not None else "",
        logo_url=organization.logo_url if organization is not None else "",
        sender_name=project_sender.name or "",
        **context,
    )
    return outbox.queue(
        conn,
        clock,
        project_id=project_id,
        to=to,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        message_domain=message_domain,
        from_name=project_sender.name,
        from_address=project_sender.address,
    )
