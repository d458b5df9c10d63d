"""What organization and member search share: the query object, opaque keyset cursors and
page limits. Results are ordered by id and a cursor names the last id of the previous page, so
every page is an index range scan, whatever the depth."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from tenantry import errors

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FUZZY_MIN_CHARS = 3


@dataclass(frozen=True)
class Operand:
    filter_name: str
    filter_value: Any


@dataclass(frozen=True)
class Query:
    operator: str  # AND | OR
    operands: list[Operand]


def parse_query(raw: dict[str, Any] | None, *, error_prefix: str) -> Query:
    """Validate Stytch's ``{operator, operands: [{filter_name, filter_value}]}``.

    ``error_prefix`` is ``organization_search`` or ``member_search``: the error_type family."""
    if raw is None:
        return Query("AND", [])
    operator = raw.get("operator")
    if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
        raise errors.InvalidArgument("query.operator must be AND or OR.")
    operands_raw = raw.get("operands")
    if not isinstance(operands_raw, list):
        raise errors.InvalidArgument("query.operands is required and must be an array.")
    operands = []
    for item in operands_raw:
        if not isinstance(item, dict):
            raise errors.InvalidArgument("Each query operand must be an object.")
        name = item.get("filter_name")
        if name is None:
            raise search_error(error_prefix, "missing_filter_name", "Each operand needs a filter_name.")
        if not isinstance(name, str):
            raise search_error(error_prefix, "filter_name_must_be_string", "filter_name must be a string.")
        if item.get("filter_value") is None:
            raise search_error(error_prefix, "missing_filter_value", f"The {name} filter needs a filter_value.")
        operands.append(Operand(name, item["filter_value"]))
    return Query(operator.upper(), operands)


class SearchError(errors.BadRequest):
    """A search validation error; ``error_type`` is set per instance from Stytch's catalogue
    (``organization_search_*`` / ``member_search_*``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type  # type: ignore[misc]


def search_error(prefix: str, suffix: str, message: str) -> SearchError:
    return SearchError(f"{prefix}_{suffix}", message)


def string_list(prefix: str, operand: Operand) -> list[str]:
    value = operand.filter_value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise search_error(prefix, "expected_array_of_strings", f"{operand.filter_name} expects an array of strings.")
    return value


def string_value(prefix: str, operand: Operand) -> str:
    if not isinstance(operand.filter_value, str):
        raise search_error(prefix, "expected_string", f"{operand.filter_name} expects a string.")
    return operand.filter_value


def fuzzy_value(prefix: str, operand: Operand) -> str:
    value = string_value(prefix, operand).strip().lower()
    if len(value) < FUZZY_MIN_CHARS:
        raise search_error(
            prefix, f"{operand.filter_name}_too_short", f"{operand.filter_name} needs at least 3 characters."
        )
    return value


def bool_value(prefix: str, operand: Operand) -> bool:
    if not isinstance(operand.filter_value, bool):
        message = f"{operand.filter_name} expects a boolean."
        # Stytch's catalogue has member_search_expected_boolean but no organization twin.
        if prefix == "member_search":
            raise search_error(prefix, "expected_boolean", message)
        raise errors.InvalidArgument(message)
    return operand.filter_value


def page_limit(limit: int | None) -> int:
    if limit is None or limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise errors.InvalidArgument("The cursor is not valid; pass back a next_cursor unchanged.") from None
    if not isinstance(after, str):
        raise errors.InvalidArgument("The cursor is not valid; pass back a next_cursor unchanged.")
    return after
