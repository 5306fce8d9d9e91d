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

from collections.abc import Callable, Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

Among = Callable[[ColumnElement, str], ColumnElement[bool]]

# The execution option of a statement PostgreSQL should plan once per connection rather
# than on every execution (`statement.execution_options(**GENERIC_PLAN)`; what it does is
# in `aloft.storage.database`). Only for a statement whose best plan is the same whatever
# its parameters: one that reads by ids, or pages an index in order. Every `Statement` is
# one of those.
PLAN = "aloft_plan"
GENERIC_PLAN = {PLAN: "generic"}


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


class Statement:
    """A statement made by `build(among)` the first time each dialect asks for it."""

    def __init__(self, build: Callable[[Among], sa.Executable]) -> None:
        self._build = build
        self._made: dict[str, sa.Executable] = {}

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
