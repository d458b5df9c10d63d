"""A small real HTTP server that speaks the part of Twilio's Messages API Tenantry uses: it
records each POST (path, Basic credentials, form fields) and answers from a script."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Received:
    path: str
    credentials: str  # "user:password" from the Basic Authorization header
    form: dict[str, str]
    content_type: str


class FakeProvider:
    def __init__(self) -> None:
        self.received: list[Received] = []
        # (status, JSON body) answered in order; when empty, 201 with a fresh message SID.
        self.script: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                auth = self.headers.get("Authorization", "")
                credentials = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else ""
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                with provider._lock:
                    provider.received.append(
                        Received(self.path, credentials, form, self.headers.get("Content-Type", ""))
                    )
                    status, body = (
                        provider.script.pop(0)
                        if provider.script
                        else (201, {"sid": f"SM{len(provider.received):032x}", "status": "queued"})
                    )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"provider got {len(self.received)} request(s), expected {count}")
