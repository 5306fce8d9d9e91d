"""Filters: an account's rules for statuses it would rather not see, as Mastodon keeps them.

A filter (v2) has a title, the contexts it applies in (`CONTEXTS`, at least one), an action
(`ACTIONS`: warn, hide, blur), an optional expiry, keywords (each whole-word or not) and
statuses. A v1 filter is one keyword of a filter, shown with its filter's context, expiry
and action (`irreversible` is hide): creating one makes a filter titled with the phrase and
that one keyword; deleting one deletes the keyword, as Mastodon's v1 controller does.
What a filter does to the statuses shown is `aloft.services.filtering`'s business.

Everything is owner-only: another account's filter, keyword or status filter is not found.
Every write is one unit of work, safe to run twice: ids are drawn before the first attempt
and a rerun finds the rows the first one wrote; deletes answer as the first attempt saw.
A write that changed something emits `filters_changed` to the owner's `user` stream
(`aloft.services.streaming`), as Mastodon publishes it after every filter save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft import ids
from aloft.errors import FieldError, Invalid, NotFound
from aloft.services.auth import Viewer, now
from aloft.services.streaming import filters_changed
from aloft.services.visibility import visible_to
from aloft.storage.database import Database
from aloft.storage.schema import filter_keywords, filter_statuses, filters, statuses

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
MAX_TEXT = 512  # a title or keyword; keywords are compiled into every read's matcher
MAX_EXPIRES_IN = 100 * 365 * 24 * 3600
NOT_FOUND = "Record not found"
INVALID_CONTEXT = "None or invalid context supplied"
MULTIPLE_KEYWORDS = (
    "These parameters cannot be changed from this application because they apply to more "
    "than one filter keyword. Use a more recent application or the web interface."
)


@dataclass(frozen=True)
class KeywordChange:
    """One item of `keywords_attributes`: a new keyword (no id), a change to one (id), or
    its removal (id and destroy)."""

    id: int | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False


@dataclass(frozen=True)
class Change:
    """What a create or update sets; None leaves a value as it is. `expires` says whether
    `expires_in` was given (None then means "never expires")."""

    title: str | None = None
    context: Sequence[str] | None = None
    action: str | None = None
    expires: bool = False
    expires_in: int | None = None
    keywords: Sequence[KeywordChange] = ()


@dataclass
class FilterView:
    """A filter with its keywords and statuses (oldest first)."""

    row: Row
    keywords: list[Row] = field(default_factory=list)
    statuses: list[Row] = field(default_factory=list)

    @property
    def context(self) -> list[str]:
        return contexts_of(self.row)


@dataclass(frozen=True)
class KeywordView:
    """A keyword with its filter: what a v1 filter is."""

    row: Row
    filter: Row


def contexts_of(row: Row) -> list[str]:
    return str(row.context).split()


def _me(viewer: Viewer) -> int:
    assert viewer.account_id is not None
    return viewer.account_id


# -- validation -------------------------------------------------------------------------


def _text(value: str | None, field_name: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid.on(field_name, "ERR_BLANK", "can't be blank", label)
    if len(text) > MAX_TEXT:
        rule = f"is too long (maximum is {MAX_TEXT} characters)"
        raise Invalid.on(field_name, "ERR_TOO_LONG", rule, label)
    return text


def _context(names: Sequence[str]) -> str:
    """Mastodon's normalisation (names stripped, blanks dropped) and rule: at least one,
    each a known context. Kept in the order given, each once."""
    kept = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not kept or any(n not in CONTEXTS for n in kept):
        raise Invalid.on("context", "ERR_INVALID", INVALID_CONTEXT)
    return " ".join(kept)


def _action(name: str) -> str:
    if name not in ACTIONS:
        rule = f"is not included in the list ({', '.join(ACTIONS)})"
        raise Invalid.on("filter_action", "ERR_INCLUSION", rule, "Filter action")
    return name


def _expires_at(seconds: int | None, at: datetime) -> datetime | None:
    if seconds is None:
        return None
    if not 0 <= seconds <= MAX_EXPIRES_IN:
        rule = f"must be a number of seconds from 0 to {MAX_EXPIRES_IN}"
        raise Invalid.on("expires_in", "ERR_INVALID", rule, "Expires in")
    return at + timedelta(seconds=seconds)


def _values(change: Change, at: datetime, creating: bool) -> dict[str, object]:
    """The filter columns `change` sets, validated (all of them when creating)."""
    values: dict[str, object] = {}
    if creating or change.title is not None:
        values["title"] = _text(change.title, "title", "Title")
    if creating or change.context is not None:
        values["context"] = _context(change.context or ())
    if change.action is not None:
        values["action"] = _action(change.action)
    if change.expires:
        values["expires_at"] = _expires_at(change.expires_in, at)
    return values


# -- reading ----------------------------------------------------------------------------


def _filter_row(conn: Connection, me: int, filter_id: int) -> Row:
    row = conn.execute(
        sa.select(filters).where(filters.c.id == filter_id, filters.c.account_id == me)
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _views(conn: Connection, rows: Sequence[Row]) -> list[FilterView]:
    """Filters with their keywords and statuses: two queries whatever their number."""
    views = {r.id: FilterView(r) for r in rows}
    if views:
        for k in conn.execute(
            sa.select(filter_keywords)
            .where(filter_keywords.c.filter_id.in_(views))
            .order_by(filter_keywords.c.id)
        ):
            views[k.filter_id].keywords.append(k)
        for s in conn.execute(
            sa.select(filter_statuses)
            .where(filter_statuses.c.filter_id.in_(views))
            .order_by(filter_statuses.c.id)
        ):
            views[s.filter_id].statuses.append(s)
    return list(views.values())


def list_filters(db: Database, viewer: Viewer) -> list[FilterView]:
    """The viewer's filters, oldest first (expired ones too, as Mastodon lists them)."""
    me = _me(viewer)

    def unit(conn: Connection) -> list[FilterView]:
        rows = conn.execute(
            sa.select(filters).where(filters.c.account_id == me).order_by(filters.c.id)
        ).all()
        return _views(conn, rows)

    return db.read(unit)


def get_filter(db: Database, viewer: Viewer, filter_id: int) -> FilterView:
    me = _me(viewer)
    return db.read(lambda conn: _views(conn, [_filter_row(conn, me, filter_id)])[0])


# -- writing filters --------------------------------------------------------------------


def create(db: Database, viewer: Viewer, change: Change) -> FilterView:
    """A new filter with its keywords (`change.keywords` may only add)."""
    me, at = _me(viewer), now()
    values = _values(change, at, creating=True)
    if any(k.id is not None or k.destroy for k in change.keywords):
        raise NotFound(NOT_FOUND)  # no keyword of a filter not made yet can be named
    new_keywords = _new_keywords(change.keywords)
    filter_id = ids.new_id()

    def unit(conn: Connection) -> FilterView:
        found = conn.execute(sa.select(filters).where(filters.c.id == filter_id)).first()
        if found is None:  # else an earlier attempt wrote it all
            conn.execute(
                sa.insert(filters).values(
                    id=filter_id, account_id=me, created_at=at, **{"action": "warn", **values}
                )
            )
            _insert_keywords(conn, filter_id, new_keywords, at)
            filters_changed(conn, me)
        return _views(conn, [_filter_row(conn, me, filter_id)])[0]

    return db.write(unit)


def _new_keywords(changes: Sequence[KeywordChange]) -> list[tuple[int, str, bool]]:
    """The keywords to add, validated, each with its id drawn now (before any attempt).
    An item with neither keyword nor id is skipped, as Rails' reject_if: :all_blank."""
    out = []
    for k in changes:
        if k.id is None and not k.destroy and k.keyword is None and k.whole_word is None:
            continue
        if k.id is None:
            text = _text(k.keyword, "keywords.keyword", "Keywords keyword")
            out.append((ids.new_id(), text, True if k.whole_word is None else k.whole_word))
    return out


def _insert_keywords(
    conn: Connection, filter_id: int, new: Sequence[tuple[int, str, bool]], at: datetime
) -> None:
    for keyword_id, text, whole_word in new:
        conn.execute(
            sa.insert(filter_keywords).values(
                id=keyword_id,
                filter_id=filter_id,
                keyword=text,
                whole_word=whole_word,
                created_at=at,
            )
        )


def update(db: Database, viewer: Viewer, filter_id: int, change: Change) -> FilterView:
    """Change a filter and, through `keywords_attributes`, its keywords: add (no id), change
    or destroy (an id of its own; another one is not found)."""
    me, at = _me(viewer), now()
    named = [k for k in change.keywords if k.id is not None]
    try:
        values = _values(change, at, creating=False)
        new_keywords = _new_keywords(change.keywords)
        for k in named:
            if not k.destroy and k.keyword is not None:
                _text(k.keyword, "keywords.keyword", "Keywords keyword")
        problem: Invalid | None = None
    except Invalid as exc:
        problem = exc
    known: set[int] = set()  # the filter's keywords as the first attempt found them

    def unit(conn: Connection) -> FilterView:
        _filter_row(conn, me, filter_id)
        if problem is not None:  # told once the filter is found: an unknown one is 404
            raise problem
        mine = set(
            conn.execute(
                sa.select(filter_keywords.c.id).where(filter_keywords.c.filter_id == filter_id)
            ).scalars()
        )
        known.update(mine)
        if any(k.id not in known for k in named):
            raise NotFound(NOT_FOUND)
        if values:
            conn.execute(sa.update(filters).where(filters.c.id == filter_id).values(**values))
        for k in named:
            where = sa.and_(filter_keywords.c.id == k.id, filter_keywords.c.filter_id == filter_id)
            if k.destroy:
                conn.execute(sa.delete(filter_keywords).where(where))
                continue
            kv: dict[str, object] = {}
            if k.keyword is not None:
                kv["keyword"] = k.keyword.strip()
            if k.whole_word is not None:
                kv["whole_word"] = k.whole_word
            if kv:
                conn.execute(sa.update(filter_keywords).where(where).values(**kv))
        _insert_keywords(conn, filter_id, [k for k in new_keywords if k[0] not in mine], at)
        filters_changed(conn, me)
        return _views(conn, [_filter_row(conn, me, filter_id)])[0]

    return db.write(unit)


def _delete(db: Database, viewer: Viewer, table: sa.Table, row_id: int) -> None:
    """Delete one of the viewer's filters (its keywords and statuses go with it), keywords
    or status filters (`table`); another's, or none, is not found. A rerun after an attempt
    that did delete it succeeds too."""
    me = _me(viewer)
    owned = (
        filters.c.account_id == me
        if table is filters
        else table.c.filter_id.in_(sa.select(filters.c.id).where(filters.c.account_id == me))
    )
    seen: list[int] = []

    def unit(conn: Connection) -> None:
        removed = conn.execute(sa.delete(table).where(table.c.id == row_id, owned)).rowcount
        if removed:
            seen.append(row_id)
            filters_changed(conn, me)
        elif not seen:
            raise NotFound(NOT_FOUND)

    db.write(unit)


def delete(db: Database, viewer: Viewer, filter_id: int) -> None:
    _delete(db, viewer, filters, filter_id)


# -- keywords ---------------------------------------------------------------------------


def _keyword_row(conn: Connection, me: int, keyword_id: int) -> KeywordView:
    found = conn.execute(
        sa.select(filter_keywords, filters.c.account_id)
        .join(filters, filters.c.id == filter_keywords.c.filter_id)
        .where(filter_keywords.c.id == keyword_id, filters.c.account_id == me)
    ).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    return KeywordView(found, _filter_row(conn, me, found.filter_id))


def keywords(db: Database, viewer: Viewer, filter_id: int) -> list[Row]:
    me = _me(viewer)
    return db.read(lambda conn: _views(conn, [_filter_row(conn, me, filter_id)])[0].keywords)


def get_keyword(db: Database, viewer: Viewer, keyword_id: int) -> KeywordView:
    me = _me(viewer)
    return db.read(lambda conn: _keyword_row(conn, me, keyword_id))


def add_keyword(
    db: Database, viewer: Viewer, filter_id: int, keyword: str | None, whole_word: bool | None
) -> KeywordView:
    me, at = _me(viewer), now()
    keyword_id = ids.new_id()

    def unit(conn: Connection) -> KeywordView:
        _filter_row(conn, me, filter_id)  # an unknown filter is 404 before a bad keyword
        text = _text(keyword, "keyword", "Keyword")
        found = conn.execute(
            sa.select(filter_keywords.c.id).where(filter_keywords.c.id == keyword_id)
        ).first()
        if found is None:
            whole = True if whole_word is None else whole_word
            _insert_keywords(conn, filter_id, [(keyword_id, text, whole)], at)
            filters_changed(conn, me)
        return _keyword_row(conn, me, keyword_id)

    return db.write(unit)


def update_keyword(
    db: Database, viewer: Viewer, keyword_id: int, keyword: str | None, whole_word: bool | None
) -> KeywordView:
    me = _me(viewer)
    values: dict[str, object] = {}
    if whole_word is not None:
        values["whole_word"] = whole_word

    def unit(conn: Connection) -> KeywordView:
        _keyword_row(conn, me, keyword_id)  # an unknown keyword is 404 before a bad one
        if keyword is not None:
            values["keyword"] = _text(keyword, "keyword", "Keyword")
        if values:
            conn.execute(
                sa.update(filter_keywords)
                .where(filter_keywords.c.id == keyword_id)
                .values(**values)
            )
            filters_changed(conn, me)
        return _keyword_row(conn, me, keyword_id)

    return db.write(unit)


def delete_keyword(db: Database, viewer: Viewer, keyword_id: int) -> None:
    """Delete a keyword (also what deleting a v1 filter does)."""
    _delete(db, viewer, filter_keywords, keyword_id)


# -- statuses ---------------------------------------------------------------------------


def _status_filter_row(conn: Connection, me: int, status_filter_id: int) -> Row:
    found = conn.execute(
        sa.select(filter_statuses)
        .join(filters, filters.c.id == filter_statuses.c.filter_id)
        .where(filter_statuses.c.id == status_filter_id, filters.c.account_id == me)
    ).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def filter_statuses_of(db: Database, viewer: Viewer, filter_id: int) -> list[Row]:
    me = _me(viewer)
    return db.read(lambda conn: _views(conn, [_filter_row(conn, me, filter_id)])[0].statuses)


def get_status_filter(db: Database, viewer: Viewer, status_filter_id: int) -> Row:
    me = _me(viewer)
    return db.read(lambda conn: _status_filter_row(conn, me, status_filter_id))


def add_status(db: Database, viewer: Viewer, filter_id: int, status_id: int | None) -> Row:
    """Filter one status the viewer may see (else 422, as Mastodon's StatusPolicy check);
    the same status twice in one filter is 422 (taken)."""
    me, at = _me(viewer), now()
    row_id = ids.new_id()

    def unit(conn: Connection) -> Row:
        _filter_row(conn, me, filter_id)  # an unknown filter is 404 before a missing status
        if status_id is None:
            raise Invalid.on("status_id", "ERR_BLANK", "can't be blank", "Status")
        if conn.execute(sa.select(filter_statuses).where(filter_statuses.c.id == row_id)).first():
            return _status_filter_row(conn, me, row_id)  # an earlier attempt wrote it
        visible = conn.execute(
            sa.select(statuses.c.id).where(
                statuses.c.id == status_id, visible_to(me, listing=False)
            )
        ).first()
        if visible is None:
            raise Invalid.on("status_id", "ERR_INVALID", "is invalid", "Status")
        taken = conn.execute(
            sa.select(filter_statuses.c.id).where(
                filter_statuses.c.filter_id == filter_id, filter_statuses.c.status_id == status_id
            )
        ).first()
        if taken is not None:
            raise Invalid.on("status_id", "ERR_TAKEN", "has already been taken", "Status")
        conn.execute(
            sa.insert(filter_statuses).values(
                id=row_id, filter_id=filter_id, status_id=status_id, created_at=at
            )
        )
        filters_changed(conn, me)
        return _status_filter_row(conn, me, row_id)

    return db.write(unit)


def delete_status_filter(db: Database, viewer: Viewer, status_filter_id: int) -> None:
    _delete(db, viewer, filter_statuses, status_filter_id)


# -- v1: a keyword with its filter -------------------------------------------------------


@dataclass(frozen=True)
class V1Change:
    """A v1 create or update: `phrase` is the keyword (and, on create, the title);
    `irreversible` sets the action to hide (true) or warn (false)."""

    phrase: str | None = None
    context: Sequence[str] | None = None
    irreversible: bool | None = None
    whole_word: bool | None = None
    expires: bool = False
    expires_in: int | None = None

    def filter_change(self) -> Change:
        action = None if self.irreversible is None else "hide" if self.irreversible else "warn"
        return Change(self.phrase, self.context, action, self.expires, self.expires_in)


def list_v1(db: Database, viewer: Viewer) -> list[KeywordView]:
    """Every keyword of the viewer's filters, as v1 filters (oldest first)."""
    return [KeywordView(k, v.row) for v in list_filters(db, viewer) for k in v.keywords]


def create_v1(db: Database, viewer: Viewer, change: V1Change) -> KeywordView:
    """A filter titled with the phrase, holding that one keyword."""
    me, at = _me(viewer), now()
    text = _text(change.phrase, "phrase", "Phrase")
    values = _values(change.filter_change(), at, creating=True)
    whole = True if change.whole_word is None else change.whole_word
    filter_id, keyword_id = ids.new_id(), ids.new_id()

    def unit(conn: Connection) -> KeywordView:
        found = conn.execute(sa.select(filters.c.id).where(filters.c.id == filter_id)).first()
        if found is None:
            conn.execute(
                sa.insert(filters).values(
                    id=filter_id, account_id=me, created_at=at, **{"action": "warn", **values}
                )
            )
            _insert_keywords(conn, filter_id, [(keyword_id, text, whole)], at)
            filters_changed(conn, me)
        return _keyword_row(conn, me, keyword_id)

    return db.write(unit)


def update_v1(db: Database, viewer: Viewer, keyword_id: int, change: V1Change) -> KeywordView:
    """Change the keyword, and its filter's title, context, action and expiry; the filter's
    settings only while it has no other keyword (else 422, as Mastodon)."""
    me, at = _me(viewer), now()
    keyword_values: dict[str, object] = {}
    try:
        if change.phrase is not None:
            keyword_values["keyword"] = _text(change.phrase, "phrase", "Phrase")
        if change.whole_word is not None:
            keyword_values["whole_word"] = change.whole_word
        values = _values(change.filter_change(), at, creating=False)
        problem: Invalid | None = None
    except Invalid as exc:
        problem = exc

    def unit(conn: Connection) -> KeywordView:
        found = _keyword_row(conn, me, keyword_id)
        if problem is not None:  # told once the filter is found: an unknown one is 404
            raise problem
        current = found.filter
        changed = {k: v for k, v in values.items() if getattr(current, k) != v}
        if changed:
            siblings = conn.execute(
                sa.select(sa.func.count())
                .select_from(filter_keywords)
                .where(filter_keywords.c.filter_id == current.id)
            ).scalar_one()
            if siblings > 1:
                raise Invalid(
                    MULTIPLE_KEYWORDS, [FieldError("base", "ERR_INVALID", MULTIPLE_KEYWORDS)]
                )
            conn.execute(sa.update(filters).where(filters.c.id == current.id).values(**changed))
        if keyword_values:
            conn.execute(
                sa.update(filter_keywords)
                .where(filter_keywords.c.id == keyword_id)
                .values(**keyword_values)
            )
        if changed or keyword_values:
            filters_changed(conn, me)
        return _keyword_row(conn, me, keyword_id)

    return db.write(unit)
