"""Search: accounts by username and hashtags by name, as clients use it to find people.

Every account is local and there is no full-text index, so a query finds accounts whose
username starts with it ("@name" and "name@our.domain" work too) and hashtags whose name
starts with it. Statuses are never found by text, as on Mastodon without a search index.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from aloft.storage.database import Database
from aloft.storage.schema import accounts, tags


@dataclass(frozen=True)
class Results:
    accounts: list[Row]
    hashtags: list[Row]


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
) -> Results:
    """Accounts and hashtags matching `query`; `kinds` is a subset of accounts, hashtags."""
    q = query.strip().lower()

    def find_accounts(conn: Connection) -> list[Row]:
        username, _, domain = q.lstrip("@").partition("@")
        if not username or (domain and domain != local_domain.lower()):
            return []
        exact = sa.case((accounts.c.username_lower == username, 0), else_=1)
        rows = conn.execute(
            sa.select(accounts)
            .where(accounts.c.username_lower.like(_prefix(username), escape="\\"))
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
        return Results(
            find_accounts(conn) if "accounts" in kinds else [],
            find_hashtags(conn) if "hashtags" in kinds else [],
        )

    return db.read(unit)
