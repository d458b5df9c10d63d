"""One JSON object per log line, with the id of the request being served.

Every logger goes through ``JsonFormatter``: Tenantry's own, uvicorn's and SQLAlchemy's. The
request id lives in a context variable set by the access middleware
(``tenantry.observability.requests``); anyio copies the context into the worker threads that
run database work, so a line logged there carries the id too.

What is never logged: tokens, codes, secrets and JWTs. Nothing here can scrub them from a free
text message, so the rule is kept where lines are written (access lines carry the path without
its query string; errors name exception types; SQLAlchemy hides bound parameters) and checked by
``tests/production/test_logs.py``, which greps the log of a full flow for every value it issued.
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime
from typing import Any

from tenantry import json_codec

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenantry_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# uvicorn repeats its message with ANSI colours under this name.
_DROPPED = frozenset({"color_message"})


class JsonFormatter(logging.Formatter):
    """``{"timestamp", "level", "logger", "message", "pid", "request_id"?, ...extra fields}``.

    A message that is itself a JSON object (some modules log events that way) is merged into
    the line rather than nested in it as a string.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A line names neither source file, thread nor process name, so records need not look
        # them up (the logging HOWTO's "Optimization" flags): a third of an access line's cost,
        # which every request pays. dictConfig builds this formatter in every worker process.
        logging._srcfile = None  # type: ignore[attr-defined]
        logging.logThreads = False
        logging.logMultiprocessing = False

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # Which worker wrote it: several share one log stream under ``serve --workers N``.
            "pid": record.process,
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _DROPPED}
        event = _json_object(line["message"])
        if event is not None:
            fields = {**event, **fields}
            line["message"] = str(event.get("event", ""))
        for key, value in fields.items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_codec.dumps(line, default=str).decode()


def _json_object(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def log_config(level: str = "info", *, json_lines: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the whole process, uvicorn's loggers included.

    ``tenantry serve`` hands it to uvicorn, which applies it in every worker process it spawns.
    """
    formatter: dict[str, Any] = {"()": "tenantry.observability.logs.JsonFormatter"}
    if not json_lines:
        formatter = {"format": "%(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # uvicorn installs handlers of its own unless told otherwise; send everything to root.
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            # Alembic announces each of its plugins at INFO whenever a worker reads the scripts.
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }
