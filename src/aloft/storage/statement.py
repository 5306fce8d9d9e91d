"""Statements built once per process and dialect, with their lists as one parameter.

A service that runs the same query on every request (the loader's batch queries) builds it
with `Statement(build)`: `build(among)` makes the statement once per dialect, where
`among(column, name)` is `column IN <the list given as parameter name>`: an expanding IN on
SQLite, `column = ANY(:name)` with one array parameter on PostgreSQL (an IN of n values
is n parameters, each with its cast, rendered again for every n). Building a statement
and its cache key on every call was most of the loader's Python time (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

Among = Callable[[ColumnElement, str], ColumnElement[bool]]


def _expanding(column: ColumnElement, name: str) -> ColumnElement[bool]:
    return column.in_(sa.bindparam(name, expanding=True))


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
            made = self._made[dialect] = self._build(
                _any if dialect == "postgresql" else _expanding
            )
        return made
