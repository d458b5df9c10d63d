"""The reads the hottest requests run, executed on SQLite's own cursor.

SQLAlchemy spends ~20 µs around each statement it executes (its compiled-cache lookup,
execution context, result set-up and row processing) where SQLite itself takes ~3 µs for a
primary-key read. Project authentication runs on every request, the session, member and signing
key reads on most, so on SQLite they skip that path: the statement is compiled once per dialect
and run on the driver connection, and its values still pass through SQLAlchemy's own bind and
result processors (datetimes, JSON), so a row reads exactly as ``Connection.execute`` would give
it. ``tests/db/test_prepared.py`` compares the two for every prepared statement.

Other databases take the ordinary path: there SQLAlchemy also decides, from the driver's
error, whether a connection is lost and must leave the pool, which a bypass would have to
repeat.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Form:
    """The statement as one dialect runs it."""

    sql: str
    # Per ``?`` in ``sql``: (name, None, bind processor) for a parameter the caller passes, or
    # (None, value, None) for a value the statement fixes itself (a LIMIT).
    binds: tuple[tuple[str | None, Any, Processor | None], ...]
    # (column position, result processor) for the columns that have one.
    results: tuple[tuple[int, Processor], ...]
    make_row: Callable[[Any], Any]


class Prepared:
    """A SELECT whose first row is read with ``first(conn, params)``; rows are named tuples
    with the statement's column keys, read by attribute like SQLAlchemy's rows."""

    # Every statement prepared, so that a test can hold each to what SQLAlchemy reads.
    everywhere: list[Prepared] = []

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.statement = statement
        Prepared.everywhere.append(self)
        # Per engine dialect (each carries the engine's JSON decoder); an engine's goes with it.
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return conn.execute(self.statement, params).first()
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _compile(self.statement, dialect)
        values = tuple(
            value if name is None else (process(params[name]) if process else params[name])
            for name, value, process in form.binds
        )
        try:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(form.sql, values)
                raw = cursor.fetchone()
            finally:
                # Resets the statement at once: an unfinished one would keep the autocommit loop
                # reader's snapshot (and the WAL it needs) alive.
                cursor.close()
        except dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy raises it (OperationalError for a busy database, ...), which is what
            # the callers handle.
            raise sa.exc.DBAPIError.instance(
                form.sql, values, exc, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
            ) from exc
        if raw is None:
            return None
        if form.results:
            row = list(raw)
            for position, process in form.results:
                row[position] = process(row[position])
            raw = row
        return form.make_row(raw)


def _compile(statement: sa.Select[Any], dialect: Dialect) -> _Form:
    compiled = statement.compile(dialect=dialect)
    if dialect.paramstyle != "qmark" or compiled.positiontup is None or "__[POSTCOMPILE" in compiled.string:
        raise ValueError(f"{dialect.name} ({dialect.paramstyle}) statements cannot be prepared here")
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.callable is None and bind.value is not None:
            fixed = process(bind.value) if process else bind.value
            binds.append((None, fixed, None))
        else:
            binds.append((name, None, process))
    columns = list(statement.selected_columns)
    results = []
    for position, column in enumerate(columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((position, process))
    # The keys SQLAlchemy's rows have (labelled ones under a label style that prefixes them).
    row_type = namedtuple("row", list(statement.selected_columns.keys()))  # type: ignore[misc]
    return _Form(compiled.string, tuple(binds), tuple(results), row_type._make)
