"""Rate-limit counts in the `rate_counts` table: add to them, read them, sweep old ones.

Plain SQL steps for one transaction; the policy (rules, windows, decisions) is in
`aloft.services.limits`. Counts are keyed by (rule, key, window start in epoch seconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from aloft.storage.schema import rate_counts

# (rule, key, window start)
Cell = tuple[str, str, int]


def add(conn: Connection, increments: Mapping[Cell, int]) -> dict[Cell, int]:
    """Add each increment to its count (creating the row) and return the new counts.

    The upsert takes the row's lock, so two processes adding to one count at once both
    land and each sees a total that includes its own addition."""
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    totals: dict[Cell, int] = {}
    # A stable order, so two transactions adding to the same rows lock them in one order.
    for cell in sorted(increments):
        rule, key, window = cell
        insert = dialect_insert(rate_counts).values(
            rule=rule, key=key, window=window, count=increments[cell]
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["rule", "key", "window"],
            set_={"count": rate_counts.c.count + insert.excluded.count},
        ).returning(rate_counts.c.count)
        totals[cell] = int(conn.execute(upsert).scalar_one())
    return totals


def read(conn: Connection, cells: Iterable[Cell]) -> dict[Cell, int]:
    """The stored counts of `cells` (0 for a cell with no row)."""
    wanted = set(cells)
    found = dict.fromkeys(wanted, 0)
    by_rule_key: dict[tuple[str, str], set[int]] = {}
    for rule, key, window in wanted:
        by_rule_key.setdefault((rule, key), set()).add(window)
    # One query per few hundred pairs keeps the statement small.
    pairs = list(by_rule_key)
    for start in range(0, len(pairs), 200):
        chunk = pairs[start : start + 200]
        windows = {w for pair in chunk for w in by_rule_key[pair]}
        c = rate_counts.c
        rows = conn.execute(
            sa.select(c.rule, c.key, c.window, c.count)
            .where(sa.tuple_(rate_counts.c.rule, rate_counts.c.key).in_(chunk))
            .where(rate_counts.c.window.in_(windows))
        )
        for rule, key, window, count in rows:
            cell = (rule, key, int(window))
            if cell in found:
                found[cell] = int(count)
    return found


def sweep(conn: Connection, before: int) -> int:
    """Delete counts of windows that started before `before`; how many rows went."""
    result = conn.execute(sa.delete(rate_counts).where(rate_counts.c.window < before))
    return int(result.rowcount or 0)
