"""The HTTP/1.1 protocol Tenantry serves with: uvicorn's httptools protocol, one socket write per answer.

uvicorn writes an answer's status line and headers when the app sends ``http.response.start``
and its body when the app sends ``http.response.body``: two ``send`` system calls, and over a
network two TCP segments, for an answer that is ready in one piece. On loopback each write also
runs the receiver's TCP processing, and it was the largest single cost of ``sessions.authenticate``
outside the app. Here the writes one event-loop step makes go out together, at the end of that
step; nothing else about the protocol changes.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A streamed answer that writes this much within one step goes out at once rather than waiting
# for the step to end, so one step never holds more than this in memory.
_FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """A transport whose writes within one event-loop step reach the socket as one write."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._size = len(data)
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)
            self._size += len(data)
        if self._size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending:
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (self._size if self._pending else 0)

    def close(self) -> None:
        # What was written before close is still delivered, as a plain transport's close promises.
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything but writing (reading, pausing, extra info, is_closing) is the socket's own.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        super().connection_made(cast(asyncio.Transport, CoalescingTransport(transport, self.loop)))
