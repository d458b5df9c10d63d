"""Email templates (Jinja2, autoescaped HTML and a plain-text twin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_env = Environment(
    loader=PackageLoader("tenantry.email", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(template: str, **context: Any) -> RenderedMail:
    # Organization names end up in the subject: a newline there must not become a header break.
    subject = " ".join(_env.get_template(f"{template}.subject.txt").render(**context).split())
    text = _env.get_template(f"{template}.txt").render(**context)
    html = _env.get_template(f"{template}.html").render(**context)
    return RenderedMail(subject, text, html)
