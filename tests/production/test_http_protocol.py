"""The HTTP protocol ``tenantry serve`` runs with: an answer's writes reach the socket as one.

The first tests hold ``CoalescingTransport`` against a transport that records what reaches it (it
stands for the socket, the part outside Tenantry); the last ones serve real HTTP through uvicorn
with the protocol, over loopback.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tenantry.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 4242)}.get(name, default)


async def _next_step() -> None:
    await asyncio.sleep(0)


def test_writes_of_one_step_reach_the_socket_as_one_write_in_order() -> None:
    async def scenario() -> None:
        socket_ = RecordingTransport()
        transport = CoalescingTransport(socket_, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        assert socket_.writes == []
        assert transport.get_write_buffer_size() == 40
        await _next_step()
        assert socket_.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        # A later step is a later write.
        transport.write(b"next")
        await _next_step()
        assert socket_.writes[1:] == [b"next"]
        assert transport.get_write_buffer_size() == 0

    asyncio.run(scenario())


def test_a_large_answer_goes_out_without_waiting_for_the_step_to_end() -> None:
    async def scenario() -> None:
        socket_ = RecordingTransport()
        transport = CoalescingTransport(socket_, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"h" * 100)
        transport.write(b"b" * 70_000)
        assert socket_.writes == [b"h" * 100 + b"b" * 70_000]
        transport.write(b"tail")
        await _next_step()
        assert socket_.writes[1:] == [b"tail"]

    asyncio.run(scenario())


def test_close_delivers_what_was_written_first_and_abort_drops_it() -> None:
    async def scenario() -> None:
        socket_ = RecordingTransport()
        transport = CoalescingTransport(socket_, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last answer")
        transport.close()
        assert socket_.writes == [b"last answer"] and socket_.closed
        await _next_step()  # the flush the write scheduled finds nothing left
        assert socket_.writes == [b"last answer"]

        dropped = RecordingTransport()
        transport = CoalescingTransport(dropped, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"never sent")
        transport.abort()
        await _next_step()
        assert dropped.writes == [] and dropped.aborted
        # Everything else is the socket's own.
        assert transport.get_extra_info("peername") == ("127.0.0.1", 4242)

    asyncio.run(scenario())


# -- real HTTP over loopback --------------------------------------------------------------------


async def _json(_request: Request) -> Response:
    return JSONResponse({"ok": True, "pad": "x" * 2000})


async def _stream(_request: Request) -> Response:
    async def chunks() -> Any:
        for i in range(40):
            yield bytes([65 + i % 26]) * 10_000
            if i % 10 == 0:
                await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def _echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


APP = Starlette(routes=[Route("/json", _json), Route("/stream", _stream), Route("/echo", _echo, methods=["POST"])])


def _read_answer(conn: socket.socket, buffered: bytes) -> tuple[bytes, bytes, bytes]:
    """One HTTP/1.1 answer (content-length or chunked): head, body, and what came after it."""
    data = buffered
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    if b"content-length" in headers:
        size = int(headers[b"content-length"])
        while len(rest) < size:
            rest += conn.recv(65536)
        return head, rest[:size], rest[size:]
    body = b""
    while True:
        while b"\r\n" not in rest:
            rest += conn.recv(65536)
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        while len(rest) < size + 2:
            rest += conn.recv(65536)
        body, rest = body + rest[:size], rest[size + 2 :]
        if size == 0:
            return head, body, rest


def test_uvicorn_serves_pipelined_streamed_and_closing_answers_through_it() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(APP, http=CoalescingHttpToolsProtocol, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            # Three requests in one packet, answered in order on one connection.
            post = b"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\n\r\nhello"
            conn.sendall(b"GET /json HTTP/1.1\r\nhost: t\r\n\r\n" + post + b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n")
            head, first, rest = _read_answer(conn, b"")
            assert head.startswith(b"HTTP/1.1 200") and first == b'{"ok":true,"pad":"' + b"x" * 2000 + b'"}'
            head, body, rest = _read_answer(conn, rest)
            assert head.startswith(b"HTTP/1.1 200") and body == b"hello"
            head, body, rest = _read_answer(conn, rest)
            assert body == b"".join(bytes([65 + i % 26]) * 10_000 for i in range(40)) and rest == b""
            # A request that asks to close: its answer arrives whole, then the end of the stream.
            conn.sendall(b"GET /json HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
            head, body, rest = _read_answer(conn, b"")
            assert b"connection: close" in head.lower() and body == first
            assert rest == b"" and conn.recv(1) == b""

    async def scenario() -> None:
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            await asyncio.to_thread(client)
        finally:
            server.should_exit = True
            await serving

    asyncio.run(scenario())
