"""``/healthz``: the process answers. ``/readyz``: it can serve, because the database answers
and carries the schema this code expects.

A load balancer takes a worker out of rotation on a failing ``/readyz`` and puts it back when
it passes again; the orchestrator restarts a process only on a failing ``/healthz``. A database
outage must therefore fail readiness, never liveness: restarting would not bring it back.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ProgrammingError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tenantry.api.errors import error_response, request_id_of, unexpected
from tenantry.db.migrate import alembic_config
from tenantry.errors import ServiceUnavailable


def expected_heads(url: str) -> frozenset[str]:
    """The migration heads shipped with this code (read from the scripts, not the database)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def database_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version")
        return frozenset(row[0] for row in rows)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "request_id": request_id_of(request)})


class Readiness:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.heads = expected_heads(str(engine.url))

    async def endpoint(self, request: Request) -> Response:
        try:
            revisions = await run_in_threadpool(database_revisions, self.engine)
        except ProgrammingError:  # PostgreSQL without alembic_version: never migrated
            revisions = frozenset()
        except Exception as exc:
            return error_response(request, unexpected(request, exc))
        if revisions != self.heads:
            # Another version's workers may be migrating; this one is not ready for that schema.
            error = ServiceUnavailable(
                f"The database schema is at {', '.join(sorted(revisions)) or 'nothing'}; "
                f"this server needs {', '.join(sorted(self.heads))}."
            )
            return error_response(request, error)
        return JSONResponse(
            {"status": "ready", "request_id": request_id_of(request), "database": "ok", "migration": sorted(self.heads)}
        )
