"""Statements built once per process and dialect, with their lists as one parameter.

A service that runs the same query on every request (the loader's batch queries) builds it
with `Statement(build)`: `build(among)` makes the statement once per dialect, where
`among(column, name)` is `column IN <the list given as parameter name>`, the list bound as
ONE parameter: `column IN (SELECT value FROM json_each(:name))` with the list as JSON text
on SQLite, `column = ANY(:name)` with one array on PostgreSQL. An expanding IN of n values
is n parameters, rendered into the SQL again on every call (a third of a home page's
Python time on SQLite, and a new statement for SQLite to prepare for every n), and on
PostgreSQL each gets its cast. Building a statement and its cache key on every call was
most of the loader's Python time (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

Among = Callable[[ColumnElement, str], ColumnElement[bool]]

# The execution option of a statement PostgreSQL should plan once per connection rather
# than on every execution (`statement.execution_options(**GENERIC_PLAN)`; what it does is
# in `aloft.storage.database`). Only for a statement whose best plan is the same whatever
# its parameters: one that reads by ids, or pages an index in order. Every `Statement` is
# one of those.
PLAN = "aloft_plan"
GENERIC_PLAN = {PLAN: "generic"}
# The SET for each mode (True: generic), and where a connection's `info` remembers which
# it has (absent: the server's default, auto).
PLAN_MODE = {
    True: "SET plan_cache_mode = force_generic_plan",
    False: "SET plan_cache_mode = auto",
}
PLAN_MODE_KEY = "generic_plan"


def plan_switch(info: dict[str, Any], generic: bool) -> str | None:
    """The SET that puts a connection in the plan mode wanted (generic or the server's
    own), or None when its `info` says it is in it already; `info` then says it is."""
    if info.get(PLAN_MODE_KEY, False) is generic:
        return None
    info[PLAN_MODE_KEY] = generic
    return PLAN_MODE[generic]


class JsonIds(sa.types.TypeDecorator[list[int]]):
    """A list of integers bound as one JSON array (for SQLite's json_each)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Iterable[int] | None, dialect: Any) -> str:
        return orjson.dumps(list(value or ())).decode()


def _json_each(column: ColumnElement, name: str) -> ColumnElement[bool]:
    values = sa.func.json_each(sa.bindparam(name, type_=JsonIds())).table_valued("value")
    return column.in_(sa.select(values.c.value))


def _any(column: ColumnElement, name: str) -> ColumnElement[bool]:
    return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))


@dataclass(frozen=True)
class _Compiled:
    """A statement as psycopg is given it: its SQL, and how to make its parameters."""

    sql: str
    compiled: SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(self.compiled.construct_params(dict(params)))
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return values


class Statement:
    """A statement made by `build(among)` the first time each dialect asks for it."""

    def __init__(self, build: Callable[[Among], sa.Executable]) -> None:
        self._build = build
        self._made: dict[str, sa.Executable] = {}
        self._compiled: _Compiled | None = None

    def compiled(self, conn: Connection) -> _Compiled:
        """The PostgreSQL form for `rows_together`, made once."""
        if self._compiled is None:
            made = self.on(conn)
            compiled = cast(SQLCompiler, cast(sa.ClauseElement, made).compile(dialect=conn.dialect))
            result_types = [column.type for column in compiled._result_columns]
            if any(t.result_processor(conn.dialect, None) for t in result_types):
                # Rows come back as psycopg makes them: a column SQLAlchemy would convert
                # needs the statement run through SQLAlchemy instead.
                raise TypeError(f"a column of this statement needs converting: {made}")
            processors = {
                name: process
                for name, bind in compiled.binds.items()
                if (process := bind.type.bind_processor(conn.dialect)) is not None
            }
            self._compiled = _Compiled(str(compiled), compiled, processors)
        return self._compiled

    def on(self, conn: Connection) -> sa.Executable:
        dialect = conn.dialect.name
        made = self._made.get(dialect)
        if made is None:
            if dialect == "postgresql":
                made = self._build(_any).execution_options(**GENERIC_PLAN)
            else:
                made = self._build(_json_each)
            self._made[dialect] = made
        return made


def rows_together(
    conn: Connection, batch: Sequence[tuple[Statement, Mapping[str, Any]]]
) -> list[list[Any]]:
    """The rows of each of `batch`'s statements, run with its parameters, in order. On
    PostgreSQL all of them go in one round trip (psycopg's pipeline mode), their rows as
    named tuples with the values SQLAlchemy would give (`Statement.compiled` refuses a
    statement whose columns it would convert); a statement is a round trip of its own
    otherwise, and each of a page's was also a wait for the server and a wake-up, on both
    sides (issue 11). Elsewhere they run one by one. Failures are raised as SQLAlchemy
    raises them (`aloft.storage.failures.retry_reason` reads them)."""
    if not batch:
        return []
    if conn.dialect.name != "postgresql":
        return [list(conn.execute(statement.on(conn), params)) for statement, params in batch]
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    sql, values = "", {}
    try:
        cursors = []
        with raw.pipeline():
            # As `aloft.storage.database` does for a statement marked GENERIC_PLAN (every
            # Statement is), in a read only.
            switch = plan_switch(conn.connection.info, True) if raw.autocommit else None
            if switch is not None:
                raw.execute(switch)
            for statement, params in batch:
                made = statement.compiled(conn)
                sql, values = made.sql, made.values(params)
                cursor = raw.cursor(row_factory=namedtuple_row)
                cursor.execute(sql, values)
                cursors.append(cursor)
        return [cursor.fetchall() for cursor in cursors]
    except psycopg.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, raw, None)  # type: ignore[arg-type]
        if invalidated:
            conn.invalidate()
        raise sa.exc.DBAPIError.instance(
            sql,
            values,
            exc,
            psycopg.Error,
            connection_invalidated=invalidated,
            dialect=conn.dialect,
        ) from exc
