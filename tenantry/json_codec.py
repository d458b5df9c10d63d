"""JSON out, fast: every API answer and every log line is encoded here.

orjson encodes the answers several times faster than the standard library, which mattered on
the hottest routes (an answer's encoding was ~6 % of a ``sessions.authenticate``). It refuses
what JSON cannot carry faithfully in its own format (integers beyond 64 bits, keys that are not
strings); those values go to the standard library, which writes them exactly.

Decoding stays with the standard library: orjson reads an integer beyond 64 bits as a float,
which would silently change metadata a client stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, default=default)
    except TypeError:
        # allow_nan=False: a NaN written out would be a body no JSON parser (nor SDK) reads.
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=default).encode()


_decode = json.JSONDecoder().decode
# Most stored JSON columns (metadata, claims, allowed domains) hold these; a row of the hottest
# statements carries about ten of them.
_EMPTY: dict[str, Callable[[], Any]] = {"{}": dict, "[]": list}


def loads_stored(text: str) -> Any:
    """A JSON column's value as SQLAlchemy stored it (``json.dumps``, so ``{}`` and ``[]`` are
    spelled exactly so); a fresh object every time, since callers may change what they get."""
    empty = _EMPTY.get(text)
    return empty() if empty is not None else _decode(text)
