"""The shape every API route shares: project auth, body parsing, the domain call off the
event loop, and Stytch's success envelope."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tenantry import errors
from tenantry.api.answer import JsonAnswer
from tenantry.api.errors import request_id_of, unexpected
from tenantry.db.engine import read_transaction, write_transaction
from tenantry.db.loop_reader import LoopReader
from tenantry.db.read_mostly import WriteNeeded
from tenantry.email.outbox import HandedMail
from tenantry.projects import service as projects
from tenantry.projects.service import Project
from tenantry.ratelimit.client_ip import client_address
from tenantry.ratelimit.rules import SendLimit
from tenantry.runtime import Runtime
from tenantry.wake import Outbox, offer_handoff, take_handed, take_queued

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Everything a handler may need about the request, already authenticated."""

    runtime: Runtime
    project: Project
    conn: Connection
    request: Request
    # What the route's ``prepare`` step returned (see ``api``).
    prepared: Any = None
    # False while a read-mostly handler runs in its read transaction (tenantry.db.read_mostly).
    writable: bool = True

    # Copied out of the request only by the handlers that read them: most never do, and copying
    # every header of every request showed in the profile of the hottest route.
    @cached_property
    def path_params(self) -> dict[str, str]:
        return dict(self.request.path_params)

    @cached_property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    @cached_property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.request.headers.items()}


Handler = Callable[[Call, Any], dict[str, Any]]
Prepare = Callable[[Call, Any], Any]


def credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise errors.UnauthorizedCredentials()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.UnauthorizedCredentials() from None
    project_id, sep, secret = decoded.partition(":")
    if not sep or not project_id or not secret or "\x00" in decoded:
        raise errors.UnauthorizedCredentials()
    return project_id, secret


def _storable(value: Any) -> bool:
    """Whether every string in ``value`` can reach the database: PostgreSQL refuses NUL in text
    (a 500 until this check), and an unpaired surrogate, which a JSON ``\\ud800`` escape yields,
    has no UTF-8 form to hash or store."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def refuse_unstorable_params(request: Request) -> None:
    """Path and query parameters arrive percent-decoded, so ``%00`` becomes a NUL (an invalid
    byte sequence becomes U+FFFD, which is harmless)."""
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        if any("\x00" in str(k) or "\x00" in str(v) for k, v in params.items()):
            raise errors.InvalidArgument(f"A {where} parameter contains a NUL character.")


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        location = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "missing":
            parts.append(f"{location} is required")
        else:
            parts.append(f"{location}: {err['msg']}")
    return "; ".join(parts) + "."


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python's parser alone accepts them, and a NaN
    # stored in metadata could never be answered again as JSON. Stytch refuses such a body.
    raise ValueError(name)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if not raw.strip():
        # Every route with a body model declares its body required (the SDKs always send at
        # least {}); DELETE routes have no model, so the empty bodies SDKs send there pass.
        raise errors.BadRequest("A JSON object request body is required.")
    try:
        payload: Any = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise errors.BadRequest("The request body must be a JSON object.")
    # Both can only come from a \\u escape (or, for surrogates, bytes json decodes leniently).
    if (b"\\u" in raw or b"\xed" in raw) and not _storable(payload):
        raise errors.InvalidArgument("The request body contains a NUL character or an unpaired surrogate.")
    # JSON null means "not given" (arazzo-runner sends omitted inputs as null).
    payload = {k: v for k, v in payload.items() if v is not None}
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise errors.InvalidArgument(_field_errors(exc)) from None


async def off_loop(request: Request, work: Callable[[], T]) -> T:
    """Run blocking database work in the thread pool; unplanned failures become 500/503."""
    try:
        return await run_in_threadpool(work)
    except errors.TenantryError:
        raise
    except Exception as exc:
        raise unexpected(request, exc) from exc


def on_loop(request: Request, work: Callable[[Connection], T], reader: LoopReader) -> T | None:
    """Run a read-mostly handler's read attempt on the event loop (``create_loop_reader`` says
    why); None when it must go to the thread pool after all: it needs to write, or SQLite kept
    its reader waiting."""
    try:
        with reader.connection() as conn:
            return work(conn)
    except WriteNeeded:
        return None
    except errors.TenantryError:
        raise
    except OperationalError:
        return None  # busy, or worse: the pool path retries with the full timeout and reports it
    except Exception as exc:
        raise unexpected(request, exc) from exc


async def admit(request: Request, runtime: Runtime, limit: SendLimit, body: Any, project_id: str, secret: str) -> None:
    """Count a send request against its rate limits, or refuse it with 429.

    Runs after the body validated (a malformed request costs nothing) and after the project
    authenticated (nobody can spend a project's quota without its secret), in its own committed
    transaction before the handler's: SQLite's single writer would deadlock a nested one, and the
    count must stand whatever the handler then does.
    """
    peer = request.client.host if request.client else None
    client = client_address(peer, request.headers.getlist("x-forwarded-for"), runtime.settings.trusted_proxies)

    def count() -> None:
        with read_transaction(runtime.engine) as conn:
            project = projects.authenticate(conn, project_id, secret)
        runtime.rate_limiter.admit(project.project_id, limit, body, client)

    await off_loop(request, count)


def api(
    handler: Handler,
    model: type[BaseModel] | None = None,
    *,
    write: bool = True,
    read_mostly: bool = False,
    limit: SendLimit | None = None,
    prepare: Prepare | None = None,
) -> Callable[..., Any]:
    """An endpoint around ``handler``. ``limit`` marks a send route: what it sends on and to
    whom, so that ``admit`` rate-limits it per recipient, client address and project.

    ``prepare`` is a first step whose writes must stand whatever the handler then does (an OTP
    guess stays counted when it was wrong): it runs and commits in its own write transaction
    before the handler's, and what it returns reaches the handler as ``call.prepared``.

    ``read_mostly`` runs the handler in a read transaction first, and again in a write
    transaction only if it raises ``WriteNeeded`` (see ``tenantry.db.read_mostly``).
    """

    async def endpoint(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        project_id, secret = credentials(request)
        refuse_unstorable_params(request)
        body = await parse_body(request, model) if model is not None else None
        if limit is not None and runtime.rate_limiter.counts_anything:
            await admit(request, runtime, limit, body, project_id, secret)

        def authenticated(conn: Connection, prepared: Any = None, writable: bool = True) -> Call:
            return Call(
                runtime=runtime,
                project=projects.authenticate(conn, project_id, secret),
                conn=conn,
                request=request,
                prepared=prepared,
                writable=writable,
            )

        if read_mostly and prepare is None and runtime.loop_reader is not None:
            answer = on_loop(
                request, lambda conn: handler(authenticated(conn, writable=False), body), runtime.loop_reader
            )
            if answer is not None:
                return ok(request, answer)

        lease = runtime.mail_loop.handoff_lease_seconds if runtime.mail_loop is not None else None

        def run() -> tuple[dict[str, Any], Noted]:
            """The handler's answer, and what its committed transactions queued (``_noting``)."""
            prepared = None
            noted = Noted()
            if prepare is not None:
                prepared, noted = _noting(
                    write_transaction, runtime.engine, lambda conn: prepare(authenticated(conn), body), lease
                )
            if read_mostly and runtime.loop_reader is None:
                try:
                    with read_transaction(runtime.engine) as conn:
                        return handler(authenticated(conn, prepared, writable=False), body), noted
                except WriteNeeded:
                    pass
            transaction = write_transaction if write else read_transaction
            result, more = _noting(
                transaction, runtime.engine, lambda conn: handler(authenticated(conn, prepared), body), lease
            )
            return result, Noted(noted.queued | more.queued, noted.handed + more.handed)

        result, noted = await off_loop(request, run)
        if noted.queued:
            # Wakes only the delivery loops whose outbox got work (each then asks the database
            # for due work, or takes the mail handed to it); the others find theirs at their next
            # poll, as work queued by another worker or machine does.
            runtime.after_commit(noted.queued, noted.handed)
        return ok(request, result)

    # Lets a test check that every send route declares its limit.
    endpoint.send_limit = limit  # type: ignore[attr-defined]
    return endpoint


@dataclass(frozen=True)
class Noted:
    """What committed transactions queued: the outboxes that got work, and the mail leased for
    this process's delivery loop (``tenantry.wake``)."""

    queued: frozenset[Outbox] = frozenset()
    handed: tuple[HandedMail, ...] = ()


def _noting(
    transaction: Callable[[Engine], AbstractContextManager[Connection]],
    engine: Engine,
    step: Callable[[Connection], T],
    handoff_lease: float | None,
) -> tuple[T, Noted]:
    """``step`` run in a transaction: what it returned, and what it queued. With
    ``handoff_lease`` the mail it queues is leased for this process's loop. The notes are taken
    even when ``step`` raises: they must not outlive the transaction on the pooled connection;
    they are returned only once it committed."""
    with transaction(engine) as conn:
        if handoff_lease is not None:
            offer_handoff(conn, handoff_lease)
        try:
            answer = step(conn)
        finally:
            queued = take_queued(conn)
            handed = take_handed(conn)
    return answer, Noted(queued, handed)


def ok(request: Request, body: dict[str, Any]) -> JsonAnswer:
    return JsonAnswer({"request_id": request_id_of(request), "status_code": 200, **body})
