"""Search: accounts by username, hashtags by name, statuses by their words.

Accounts are found by username prefix ("@name" and "name@our.domain" work too), hashtags
by name prefix. Statuses are found with each engine's own full-text index (migration 0002):
PostgreSQL's tsvector/tsquery, SQLite's FTS5. Every word of the query must occur; only
statuses the viewer may see are returned, newest first, and only to a signed-in viewer
(as on Mastodon). Statuses hidden from the viewer (blocked either way, muted, suspended:
`aloft.services.visibility`) are left out. Of accounts, only suspended ones and those that
block the viewer: an account the viewer blocks or mutes stays findable, as on Mastodon,
because that is how apps (toot's `unblock NAME`, `unmute NAME`) find it to undo it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft.services.loader import Bundle, load_statuses
from aloft.services.visibility import hidden_accounts, visible_to
from aloft.storage.database import Database
from aloft.storage.schema import accounts, follows, statuses, tags


@dataclass(frozen=True)
class Results:
    accounts: list[Row]
    hashtags: list[Row]
    statuses: list[Row]
    bundle: Bundle


def _words(query: str) -> list[str]:
    return re.findall(r"\w+", query.lower())[:20]


def _text_match(conn: Connection, words: list[str]) -> sa.ColumnElement[bool]:
    """The engine's full-text condition: every word occurs in the status."""
    if conn.dialect.name == "postgresql":
        vector: sa.ColumnElement[object] = sa.literal_column("statuses.search_vector")
        query = sa.func.to_tsquery("simple", " & ".join(words))
        return vector.op("@@")(query)
    # FTS5 query syntax: each word quoted, so nothing the user types is an operator.
    match = " ".join(f'"{w}"' for w in words)
    fts = sa.table("statuses_fts", sa.column("rowid"))
    hits = sa.select(fts.c.rowid).where(
        sa.text("statuses_fts MATCH :match").bindparams(match=match)
    )
    return statuses.c.id.in_(hits)


def _prefix(value: str) -> str:
    """A LIKE pattern for "starts with value", with the wildcards in value escaped."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def search(
    db: Database,
    query: str,
    local_domain: str,
    kinds: set[str],
    limit: int,
    offset: int,
    viewer_id: int | None = None,
) -> Results:
    """Accounts, hashtags and statuses matching `query`; `kinds` says which to look for."""
    q = query.strip().lower()

    def find_statuses(conn: Connection) -> list[Row]:
        words = _words(q)
        if viewer_id is None or not words or q.startswith(("@", "#")):
            return []
        rows = conn.execute(
            sa.select(statuses)
            .where(
                _text_match(conn, words),
                statuses.c.reblog_of_id.is_(None),
                visible_to(viewer_id),
                # An account that is not `indexable` is found only by itself, as Mastodon.
                sa.or_(
                    statuses.c.account_id == viewer_id,
                    statuses.c.account_id.not_in(
                        sa.select(accounts.c.id).where(accounts.c.indexable.is_(False))
                    ),
                ),
            )
            .order_by(statuses.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    def find_accounts(conn: Connection) -> list[Row]:
        username, _, domain = q.lstrip("@").partition("@")
        if not username or (domain and domain != local_domain.lower()):
            return []
        exact = sa.case((accounts.c.username_lower == username, 0), else_=1)
        rows = conn.execute(
            sa.select(accounts)
            .where(
                accounts.c.username_lower.like(_prefix(username), escape="\\"),
                accounts.c.id.not_in(hidden_accounts(viewer_id, listing=False)),
            )
            .order_by(exact, accounts.c.username_lower)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    def find_hashtags(conn: Connection) -> list[Row]:
        name = q.lstrip("#")
        if not name or q.startswith("@"):
            return []
        exact = sa.case((tags.c.name == name, 0), else_=1)
        rows = conn.execute(
            sa.select(tags)
            .where(tags.c.name.like(_prefix(name), escape="\\"))
            .order_by(exact, tags.c.name)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    def unit(conn: Connection) -> Results:
        found = find_statuses(conn) if "statuses" in kinds else []
        return Results(
            find_accounts(conn) if "accounts" in kinds else [],
            find_hashtags(conn) if "hashtags" in kinds else [],
            found,
            load_statuses(conn, found, viewer_id),
        )

    return db.read(unit)


def accounts_by_name(
    db: Database,
    query: str,
    local_domain: str,
    limit: int,
    offset: int,
    viewer_id: int,
    following: bool = False,
) -> list[Row]:
    """Accounts whose username, display name, or a word of the display name starts with
    `query` (GET /api/v1/accounts/search): an exact username first, then accounts the
    viewer follows, then by username. `following` keeps only accounts the viewer follows.
    Display names are matched without an index (a scan of accounts), fine at this scale."""
    q = query.strip().lower()
    username, _, domain = q.lstrip("@").partition("@")
    if not username or (domain and domain != local_domain.lower()):
        return []
    display = sa.func.lower(accounts.c.display_name)
    followed = sa.exists().where(
        follows.c.account_id == viewer_id, follows.c.target_account_id == accounts.c.id
    )
    match = sa.or_(
        accounts.c.username_lower.like(_prefix(username), escape="\\"),
        display.like(_prefix(username), escape="\\"),
        display.like("% " + _prefix(username), escape="\\"),
    )
    query_ = sa.select(accounts).where(
        match, accounts.c.id.not_in(hidden_accounts(viewer_id, listing=False))
    )
    if following:
        query_ = query_.where(followed)
    exact = sa.case((accounts.c.username_lower == username, 0), else_=1)
    known = sa.case((followed, 0), else_=1)
    query_ = query_.order_by(exact, known, accounts.c.username_lower).limit(limit).offset(offset)
    return db.read(lambda conn: list(conn.execute(query_)))
