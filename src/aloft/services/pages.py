"""Cursor pagination as Mastodon does it: limit, max_id, since_id, min_id.

* max_id: only items older than this;  since_id: only items newer than this, newest first;
* min_id: items just newer than this, i.e. the page right after it (oldest first in SQL,
  returned newest first).
A page's keys give the Link header: rel="next" is max_id=<last key>, rel="prev" is
min_id=<first key>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from aloft.errors import Invalid

T = TypeVar("T")

DEFAULT_LIMIT = 20
CURSORS = ("page_max_id", "page_since_id", "page_min_id")
MAX_LIMIT = 40
# Which cursors a page is given (max_id, since_id, min_id): pages of one shape share a
# statement built once (`bound`).
Shape = tuple[bool, bool, bool]


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None

    @classmethod
    def build(
        cls,
        limit: int | None,
        max_id: int | None,
        since_id: int | None,
        min_id: int | None,
        max_limit: int = MAX_LIMIT,
        default_limit: int = DEFAULT_LIMIT,
    ) -> PageRequest:
        """Clamp the limit into 1..max_limit, as Mastodon does (it never errors on size)."""
        if limit is None:
            limit = default_limit
        if limit < 0:
            raise Invalid("limit must not be negative")
        return cls(max(1, min(limit, max_limit)), max_id, since_id, min_id)

    def apply(self, query: sa.Select, key: sa.ColumnElement) -> sa.Select:
        """Add the cursor conditions, the order and the limit on `key` to `query`."""
        if self.max_id is not None:
            query = query.where(key < self.max_id)
        if self.since_id is not None:
            query = query.where(key > self.since_id)
        if self.min_id is not None:
            query = query.where(key > self.min_id)
            return query.order_by(key.asc()).limit(self.limit)
        return query.order_by(key.desc()).limit(self.limit)

    @property
    def shape(self) -> Shape:
        return (self.max_id is not None, self.since_id is not None, self.min_id is not None)

    def values(self) -> dict[str, int]:
        """The parameters of a `bound` statement."""
        given = zip(CURSORS, (self.max_id, self.since_id, self.min_id), strict=True)
        return {"page_limit": self.limit} | {name: v for name, v in given if v is not None}

    def finish(self, rows: Sequence[T]) -> list[T]:
        """Rows newest first, whichever way the SQL ran."""
        return list(reversed(rows)) if self.min_id is not None else list(rows)


def bound(shape: Shape, query: sa.Select, key: sa.ColumnElement) -> sa.Select:
    """`PageRequest.apply` for every page of `shape`, its cursors and limit parameters
    (`PageRequest.values()` gives them): one statement, built once, serves them all."""
    cursors: list[Any] = [
        sa.bindparam(name) if given else None for name, given in zip(CURSORS, shape, strict=True)
    ]
    # The limit is written into the SQL (one statement per limit asked for, at most
    # MAX_LIMIT): PostgreSQL's generic plan of a statement (see GENERIC_PLAN) guesses a
    # limit given as a parameter at a tenth of the rows, and costs a page as a scan.
    limit = sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)
    template = PageRequest(limit, *cursors)  # type: ignore[arg-type]
    return template.apply(query, key)


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items (newest first) and the keys for the next (older) and previous (newer) page."""

    items: list[T]
    next_max_id: int | None
    prev_min_id: int | None

    @classmethod
    def of(cls, items: list[T], keys: list[int]) -> Page[T]:
        if not keys:
            return cls(items, None, None)
        return cls(items, keys[-1], keys[0])
