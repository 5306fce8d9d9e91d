"""Rate limits: Mastodon's documented numbers, in sliding windows, shared by every process.

The rules (README.md lists them for users):

* every API request: 300 per 5 minutes per account, or per IP address without a valid
  token (answers 401, 403 and 422 count too);
* POST /api/v1/accounts (registration): 5 per 30 minutes per IP address;
* DELETE /api/v1/statuses/:id and POST …/unreblog: 30 per 30 minutes per account;
* media uploads: 30 per 30 minutes per account;
* sign-in attempts (POST /oauth/authorize, the password grant): 25 per 5 minutes per IP
  address and 25 per hour per account;
* posts (statuses and reblogs): 300 per 3 hours per account, and follows: 400 per day per
  account, as Mastodon's own limiter; these two are counted from the rows themselves
  (`posts_allowed`, `follows_allowed`), so they need no counter at all.

Counts live in the database (`aloft.storage.counters`), so every worker process and every
app replica of a deployment shares them. There are two ways to count:

* `Limiter.hit`, for the general limit on every request, decides in memory: from the
  totals last read from the database plus this process's own requests since. `sync`, run
  every second by the app, adds this process's requests to the database and reads the
  totals back. The database is never on a request's path (reads keep being served while a
  primary is replaced), at the price that processes see each other's requests up to a
  second late: N processes can overshoot by at most what N−1 of them serve in a second.
* `Limiter.hit_now`, for the small limits (sign-in, registration, deletion, media), is one
  small write transaction that adds and checks: exact across processes. Those requests
  write anyway, and a guess at a password should not get 25 more tries per replica.

A sliding window: a rule's count is kept in fixed windows, and the estimate for "the last
`window_seconds`" is this window's count plus the previous window's count weighted by how
much of it is still inside that span. A burst at the end of one window followed by one at
the start of the next is refused, which fixed windows allowed. Refused requests are not
counted, so a client that waits for Retry-After gets in.

ALOFT_RATE_LIMITS=off disables every limit (benchmarks, drills).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from aloft import ids
from aloft.errors import RateLimited
from aloft.storage import counters
from aloft.storage.counters import Cell
from aloft.storage.database import Database
from aloft.storage.schema import follow_requests, follows, statuses

log = logging.getLogger("aloft.limits")

TOO_MANY = "Too many requests"


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_seconds: int


GENERAL = Rule("general", 300, 300)
REGISTRATION = Rule("registration", 5, 1800)
DELETION = Rule("deletion", 30, 1800)
MEDIA = Rule("media", 30, 1800)
# As Mastodon's throttle_login_attempts: per IP address, and per account (or login text).
SIGN_IN_IP = Rule("sign_in_ip", 25, 300)
SIGN_IN_ACCOUNT = Rule("sign_in_account", 25, 3600)
# Counted from the rows (Mastodon's RateLimiter families `statuses` and `follows`).
POSTS = Rule("posts", 300, 3 * 3600)
FOLLOWS = Rule("follows", 400, 24 * 3600)

RULES = {r.name: r for r in (GENERAL, REGISTRATION, DELETION, MEDIA, SIGN_IN_IP, SIGN_IN_ACCOUNT)}
LONGEST = max(r.window_seconds for r in RULES.values())
SYNC_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    """The state of a limit after counting one request: what the headers report."""

    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.reset_at, UTC).isoformat(timespec="milliseconds")
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": reset.replace("+00:00", "Z"),
        }


def window_start(rule: Rule, now: float) -> int:
    return int(now // rule.window_seconds) * rule.window_seconds


def decide(rule: Rule, before: int, previous: int, now: float, message: str = TOO_MANY) -> Verdict:
    """The verdict on one more request, given this window's count so far (`before`) and the
    previous window's count. RateLimited, with the wait until it would fit, when over."""
    width = rule.window_seconds
    start = window_start(rule, now)
    overlap = 1 - (now - start) / width  # share of the previous window still in the span
    estimate = before + 1 + previous * overlap
    verdict = Verdict(rule.limit, math.floor(rule.limit - estimate), start + width)
    if estimate <= rule.limit:
        return verdict
    if before + 1 <= rule.limit and previous > 0:
        # Fits later in this window, once enough of the previous one has slid out.
        later = start + (1 - (rule.limit - 1 - before) / previous) * width
    else:
        # Only in the next window, once enough of this one has slid out.
        later = start + width + max(0.0, 1 - (rule.limit - 1) / max(before, 1)) * width
    retry_after = max(1, math.ceil(later - now))
    raise RateLimited(message, retry_after, verdict.headers())


class Limiter:
    """Sliding-window counters shared through the database (see the module docstring).

    `hit` may be called from any thread and never touches the database; `hit_now` and
    `sync` block on it and belong in worker threads. Without a database (`db=None`, or
    before `attach`) everything is counted in this process only."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._shared: dict[Cell, int] = {}  # totals as last read from the database
        self._pending: dict[Cell, int] = {}  # this process's requests not yet sent
        self._sending: dict[Cell, int] = {}  # being added to the database right now
        self._next_sweep = 0.0

    def attach(self, db: Database) -> None:
        self._db = db

    def hit(self, rule: Rule, key: str, now: float | None = None) -> Verdict:
        """Count one request against `rule` for `key`, deciding from what this process
        knows; RateLimited (and not counted) when it is over the limit."""
        now = time.time() if now is None else now
        current = (rule.name, key, window_start(rule, now))
        previous = (rule.name, key, current[2] - rule.window_seconds)
        with self._lock:
            verdict = decide(rule, self._known(current), self._known(previous), now)
            self._pending[current] = self._pending.get(current, 0) + 1
        return verdict

    def hit_now(
        self, rule: Rule, key: str, message: str = TOO_MANY, now: float | None = None
    ) -> Verdict:
        """Count one request against `rule` for `key` in the database, exactly: one write
        transaction that adds it and checks the total; a refused request is rolled back."""
        if self._db is None:
            with self._lock:
                now = time.time() if now is None else now
                current = (rule.name, key, window_start(rule, now))
                previous = (rule.name, key, current[2] - rule.window_seconds)
                verdict = decide(rule, self._known(current), self._known(previous), now, message)
                self._pending[current] = self._pending.get(current, 0) + 1
                return verdict

        def unit(conn: Connection) -> Verdict:
            at = time.time() if now is None else now
            current = (rule.name, key, window_start(rule, at))
            previous = (rule.name, key, current[2] - rule.window_seconds)
            total = counters.add(conn, {current: 1})[current]
            before = counters.read(conn, [previous])[previous]
            # Raising rolls the addition back: refused requests are not counted. (A rerun
            # after an ambiguous commit may count one request twice: stricter, never looser.)
            return decide(rule, total - 1, before, at, message)

        return self._db.write(unit)

    def sync(self, now: float | None = None) -> None:
        """Add this process's requests to the shared counts and read the totals back.
        When the database cannot take them, they wait for the next sync."""
        now = time.time() if now is None else now
        with self._lock:
            self._forget_old(now)
            if self._db is None or not self._pending:
                return
            self._sending, self._pending = self._pending, {}
            sending = dict(self._sending)
        db = self._db

        def unit(conn: Connection) -> dict[Cell, int]:
            totals = counters.add(conn, sending)
            totals.update(counters.read(conn, _previous_cells(sending)))
            if now >= self._next_sweep:
                counters.sweep(conn, int(now) - 2 * LONGEST)
            return totals

        try:
            totals = db.write(unit)
        except Exception as exc:  # the database is away: keep the counts for next time
            log.info("rate-limit counts not shared yet: %s", exc)
            with self._lock:
                for cell, n in self._sending.items():
                    self._pending[cell] = self._pending.get(cell, 0) + n
                self._sending = {}
            return
        with self._lock:
            self._shared.update(totals)
            self._sending = {}
            if now >= self._next_sweep:
                self._next_sweep = now + 600

    def _known(self, cell: Cell) -> int:
        return self._shared.get(cell, 0) + self._pending.get(cell, 0) + self._sending.get(cell, 0)

    def _forget_old(self, now: float) -> None:
        """Drop totals of windows no rule can still look at, so memory stays bounded."""
        oldest = now - 2 * LONGEST
        if len(self._shared) > 1000:
            self._shared = {c: n for c, n in self._shared.items() if c[2] >= oldest}


SIGN_IN_LIMITED = "Too many sign-in attempts"


def sign_in(limiter: Limiter, client_ip: str, account_key: str) -> None:
    """Count one sign-in attempt (the page or the password grant) against the per-IP and
    per-account limits, exactly; RateLimited when either is spent. Blocks: worker thread."""
    limiter.hit_now(SIGN_IN_IP, client_ip, SIGN_IN_LIMITED)
    limiter.hit_now(SIGN_IN_ACCOUNT, account_key, SIGN_IN_LIMITED)


def _previous_cells(cells: Iterable[Cell]) -> list[Cell]:
    return [(r, k, w - RULES[r].window_seconds) for r, k, w in cells if r in RULES]


# -- limits counted from the rows themselves ------------------------------------------------


def posts_allowed(
    conn: Connection, account_id: int, extra: int = 0, now: float | None = None
) -> None:
    """RateLimited when one more post (or reblog) would put the account over POSTS.limit in
    the last 3 hours; `extra` is how many of the account's rows this unit of work has
    already inserted. Part of the posting unit of work, so every replica sees the same rows."""
    mine = statuses.c.account_id == account_id
    _from_rows(conn, POSTS, statuses, mine, extra, "Too many posts", now)


def follows_allowed(
    conn: Connection, account_id: int, extra: int = 0, now: float | None = None
) -> None:
    """RateLimited when one more follow (or follow request) would put the account over
    FOLLOWS.limit in the last day (`extra` as for `posts_allowed`). Follows and requests
    count together, as in Mastodon's `follows` family."""
    now = time.time() if now is None else now
    since = ids.id_for_time(int((now - FOLLOWS.window_seconds) * 1000))
    # Each side limited on its own (a subquery each: SQLite allows no ORDER BY/LIMIT on a
    # bare member of a UNION).
    newest = [
        sa.select(table.c.id)
        .where(table.c.account_id == account_id, table.c.id >= since)
        .order_by(table.c.id.desc())
        .limit(FOLLOWS.limit + extra)
        .subquery()
        for table in (follows, follow_requests)
    ]
    recent = sa.union_all(*(sa.select(side.c.id) for side in newest)).subquery()
    _judge(conn, FOLLOWS, recent, extra, "Too many follows", now)


def _from_rows(
    conn: Connection,
    rule: Rule,
    table: sa.Table,
    mine: sa.ColumnElement[bool],
    extra: int,
    message: str,
    now: float | None,
) -> None:
    now = time.time() if now is None else now
    since = ids.id_for_time(int((now - rule.window_seconds) * 1000))
    # Only the newest rows matter, read through the (account_id, id) index.
    recent = (
        sa.select(table.c.id)
        .where(mine, table.c.id >= since)
        .order_by(table.c.id.desc())
        .limit(rule.limit + extra)
        .subquery()
    )
    _judge(conn, rule, recent, extra, message, now)


def _judge(
    conn: Connection, rule: Rule, recent: sa.Subquery, extra: int, message: str, now: float
) -> None:
    """RateLimited when the ids in `recent` (the account's rows in the window, at most
    limit + extra of each kind) leave no room for one more."""
    count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(recent.c.id))).one()
    if count - extra < rule.limit:
        return
    # The oldest of those rows leaving the window makes room for one more.
    frees_at = ids.id_time_ms(int(oldest)) / 1000 + rule.window_seconds
    verdict = Verdict(rule.limit, 0, frees_at)
    raise RateLimited(message, max(1, math.ceil(frees_at - now)), verdict.headers())
