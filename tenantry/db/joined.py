"""Rows of one statement that selects the columns of several tables: each table's part apart."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row


def table_parts(*tables: sa.Table) -> Callable[[Row[Any]], tuple[Any, ...]]:
    """For a statement whose columns start with every column of ``tables``, in table order, a
    function that splits one of its rows into a row per table, each under the table's own column
    names, as the stores' row readers (``_from_row``) take them. Slicing the row by position costs
    one tuple per table; looking up labelled columns one by one cost ~15 % of a request."""
    parts = []
    start = 0
    for table in tables:
        names = [c.name for c in table.c]
        parts.append((namedtuple(f"{table.name}_row", names)._make, start, start + len(names)))  # type: ignore[misc]
        start += len(names)

    def split(row: Row[Any]) -> tuple[Any, ...]:
        return tuple(make(row[begin:end]) for make, begin, end in parts)

    return split
