"""Statements built once per process and dialect, with their lists as one parameter, and
run by the driver from SQL compiled once.

A service that runs the same query on every request (the loader's batch queries, the
timelines' pages) builds it with `Statement(build)`: `build(among)` makes the statement
once per dialect, where `among(column, name)` is `column IN <the list given as parameter
name>`, the list bound as ONE parameter: `column IN (SELECT value FROM json_each(:name))`
with the list as JSON text on SQLite, `column = ANY(:name)` with one array on PostgreSQL.
An expanding IN of n values is n parameters, rendered into the SQL again on every call (a
third of a home page's Python time on SQLite, and a new statement for SQLite to prepare
for every n), and on PostgreSQL each gets its cast. Building a statement and its cache key
on every call was most of the loader's Python time (issue 11). `rows_together` runs them
without SQLAlchemy's execution around each (its cache key, its result object), which cost
a home page a third of its CPU time once the queries were quick."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import psycopg
import sqlalchemy as sa
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
# Where a PostgreSQL connection keeps the statements of its open transaction that go with
# its COMMIT (`later`).
LATER = "aloft_later"


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


# How many forms of one statement's SQL (one per value of its post-compiled parameters)
# are kept; a page's limit makes at most MAX_LIMIT of them.
WRITTEN_SIZE = 256


@dataclass
class _Compiled:
    """A statement as the driver is given it by `rows_together`: its SQL, how to make its
    parameters, and (SQLite) how to make its rows."""

    sql: str
    compiled: SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]
    # SQLite's parameters are positional (`?`): their names in order. None on PostgreSQL.
    positions: Sequence[str] | None
    # The cursor's row factory: each row as a named tuple of the statement's columns, with
    # the values SQLAlchemy would give (on SQLite its booleans and timestamps converted as
    # it converts them). Given its names, psycopg's own made a column description of each
    # column of each statement (a sixth of a PostgreSQL home page's Python time).
    make_row: Any
    # The parameters written into the SQL, or expanded into one parameter per value (a
    # page's limit, an IN of constants), and what each of their values seen makes.
    postcompiled: Sequence[str] = ()
    written: dict[tuple[Any, ...], _Written] = field(default_factory=dict)

    def prepare(self, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL and the driver's parameters for a run with `params`."""
        values = dict(self.compiled.construct_params(dict(params)))
        sql, positions = self.sql, self.positions
        if self.postcompiled:
            key = tuple(_frozen(values[name]) for name in self.postcompiled)
            written = self.written.get(key)
            if written is None:
                if len(self.written) >= WRITTEN_SIZE:
                    self.written.clear()  # a list given per request would grow it without end
                written = self.written[key] = self._write(values)
            sql, positions = written.sql, written.positions
            for name in self.postcompiled:
                del values[name]
            values.update(written.values)
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        if positions is None:
            return sql, values
        return sql, tuple(values[name] for name in positions)

    def _write(self, values: Mapping[str, Any]) -> _Written:
        state = self.compiled.construct_expanded_state(dict(values))
        made = {}
        for name in (n for p in self.postcompiled for n in state.parameter_expansion.get(p, ())):
            process = state.processors.get(name)
            made[name] = process(state.parameters[name]) if process else state.parameters[name]
        positions = state.positiontup if self.positions is not None else None
        return _Written(state.statement, positions, made)


@dataclass(frozen=True)
class _Written:
    """A statement's SQL with its post-compiled parameters' values written in: its
    positions (SQLite), and the values of the parameters a list was expanded into."""

    sql: str
    positions: Sequence[str] | None
    values: Mapping[str, Any]


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def _psycopg_rows(names: Sequence[str]) -> Callable[[Any], Callable[[Sequence[Any]], Any]]:
    """A psycopg row factory: each row as a named tuple of `names`."""
    row = collections.namedtuple("Row", names, rename=True)  # type: ignore[misc]
    make = functools.partial(tuple.__new__, row)
    return lambda _cursor: make


def _sqlite_rows(
    names: Sequence[str], converters: Sequence[Callable[[Any], Any] | None]
) -> Callable[[Any, tuple[Any, ...]], Any]:
    """A sqlite3 row factory: each row as a named tuple of `names`, its values passed
    through their `converters` (None: as the driver gives it)."""
    row = collections.namedtuple("Row", names, rename=True)  # type: ignore[misc]
    converting = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    make = tuple.__new__
    if not converting:
        return lambda _cursor, values: make(row, values)

    def converted(_cursor: Any, values: tuple[Any, ...]) -> Any:
        out = list(values)
        for i, convert in converting:
            out[i] = convert(out[i])
        return make(row, out)

    return converted


class Statement:
    """A statement made by `build(among)` the first time each dialect asks for it."""

    def __init__(self, build: Callable[[Among], sa.Executable]) -> None:
        self._build = build
        self._made: dict[str, sa.Executable] = {}
        self._compiled: dict[str, _Compiled] = {}

    @classmethod
    def of(cls, statement: sa.Executable) -> Statement:
        """A Statement of one built already (for the dialects it is right for)."""
        return cls(lambda _among: statement)

    def compiled(self, conn: Connection) -> _Compiled:
        """The form `rows_together` runs, made once per dialect."""
        dialect = conn.dialect
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        made = self.on(conn)
        compiled = cast(SQLCompiler, cast(sa.ClauseElement, made).compile(dialect=dialect))
        columns = compiled._result_columns
        sqlite = dialect.name == "sqlite"
        # SQLite gives booleans as integers and timestamps as text: SQLAlchemy's own
        # converters, run on each row. (The PostgreSQL dialect's want the driver's type
        # codes, which a compiled statement does not have.)
        types = [c.type.dialect_impl(dialect) if sqlite else c.type for c in columns]
        converters = [t.result_processor(dialect, None) for t in types]
        if not sqlite and any(converters):
            # psycopg makes the rows: a column SQLAlchemy would convert needs the statement
            # run through SQLAlchemy instead.
            raise TypeError(f"a column of this statement needs converting: {made}")
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        processors = {
            name: process
            for name, bind in binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        names = [c.keyname for c in columns]
        found = _Compiled(
            str(compiled),
            compiled,
            processors,
            positions=list(compiled.positiontup or ()) if sqlite else None,
            make_row=_sqlite_rows(names, converters) if sqlite else _psycopg_rows(names),
            postcompiled=[
                name for name, bind in binds.items() if bind.literal_execute or bind.expanding
            ],
        )
        self._compiled[dialect.name] = found
        return found

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


def _has_rows(result: Any) -> bool:
    return result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK


def rows_of(conn: Connection, statement: Statement, params: Mapping[str, Any]) -> list[Any]:
    """`statement`'s rows (none for one that returns none), run as `rows_together` runs
    each of its statements."""
    return rows_together(conn, [(statement, params)])[0]


def later(conn: Connection, statement: Statement, params: Mapping[str, Any]) -> None:
    """Run `statement`, whose rows no one reads, before this write commits: on PostgreSQL
    in COMMIT's round trip (`Database` sends what a unit left with its COMMIT, see
    `take_later`), on SQLite now. Its failure is the commit's: the attempt fails."""
    if conn.dialect.name == "postgresql":
        conn.info.setdefault(LATER, []).append((statement, params))
    else:
        rows_of(conn, statement, params)


def take_later(conn: Connection) -> list[tuple[Statement, Mapping[str, Any]]]:
    """The statements `later` left on this connection (and forget them)."""
    left: list[tuple[Statement, Mapping[str, Any]]] = conn.info.pop(LATER, [])
    return left


def rows_together(
    conn: Connection, batch: Sequence[tuple[Statement, Mapping[str, Any]]], commit: bool = False
) -> list[list[Any]]:
    """The rows of each of `batch`'s statements, run with its parameters, in order, as
    named tuples with the values SQLAlchemy would give. The driver runs them, from SQL
    compiled once: SQLAlchemy's work around each execution (its cache key, its result
    object) cost more than SQLite's to run one (issue 11). On PostgreSQL all of them go in
    one round trip (psycopg's pipeline mode; `Statement.compiled` refuses a statement
    whose columns SQLAlchemy would convert): a statement is a round trip of its own
    otherwise, and each of a page's was also a wait for the server and a wake-up, on both
    sides. The engine's `before_cursor_execute` listeners see each statement, without an
    execution context. Failures are raised as SQLAlchemy raises them
    (`aloft.storage.failures.retry_reason` reads them). With `commit` (PostgreSQL only),
    the transaction's COMMIT goes in the same round trip, after them."""
    if not batch:
        return []
    if commit and conn.dialect.name != "postgresql":
        raise ValueError("a COMMIT goes with statements on PostgreSQL only")
    if not conn.in_transaction():
        conn.begin()  # as `conn.execute` would (SQLite's BEGIN is the engine's listener)
    dispatch = conn.dispatch.before_cursor_execute
    raw = conn.connection.driver_connection
    sql, values = "", None
    try:
        if conn.dialect.name != "postgresql":
            out = []
            for statement, params in batch:
                made = statement.compiled(conn)
                sql, values = made.prepare(params)
                cursor = raw.cursor()  # type: ignore[union-attr]
                cursor.row_factory = made.make_row
                if dispatch:
                    dispatch(conn, cursor, sql, values, None, False)
                out.append(cursor.execute(sql, values).fetchall())
            return out
        pg = cast("psycopg.Connection[Any]", raw)
        cursors = []
        # As `aloft.storage.database` does for a statement marked GENERIC_PLAN (every
        # Statement is), in a read only.
        switch = plan_switch(conn.connection.info, True) if pg.autocommit else None
        # One statement to send is one round trip without the pipeline's own messages.
        # (The BEGIN that psycopg sends before a transaction's first statement is a round
        # trip of its own in a pipeline too: psycopg waits for its result.)
        alone = switch is None and len(batch) == 1 and not commit
        with nullcontext() if alone else pg.pipeline():
            if switch is not None:
                pg.execute(switch)
            for statement, params in batch:
                made = statement.compiled(conn)
                sql, values = made.prepare(params)
                cursor = pg.cursor(row_factory=made.make_row)
                if dispatch:
                    dispatch(conn, cursor, sql, values, None, False)
                cursor.execute(sql, values)
                cursors.append(cursor)
            if commit:
                sql, values = "COMMIT", None
                pg.commit()
        # A statement without rows (an UPDATE) has nothing to fetch. (Its `description`
        # would tell too, but makes a column object of each column of every statement.)
        return [cursor.fetchall() if _has_rows(cursor.pgresult) else [] for cursor in cursors]
    except conn.dialect.loaded_dbapi.Error as exc:
        invalidated = conn.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            conn.invalidate()
        raise sa.exc.DBAPIError.instance(
            sql,
            values,
            exc,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=conn.dialect,
        ) from exc
