"""The JSON response every API route and error answers with."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from tenantry import json_codec


class JsonAnswer(JSONResponse):
    """Starlette's JSONResponse (same media type, same compact UTF-8 body), encoded by
    ``tenantry.json_codec``."""

    def render(self, content: Any) -> bytes:
        return json_codec.dumps(content)
