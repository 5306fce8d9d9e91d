"""A deterministic dataset for benchmarks: same size and seed, same rows, on either engine.

Shape (every choice drawn from one `random.Random(seed)`):

* `accounts` accounts: `reader` (account 0) and user1…; how much each posts and how many
  followers it draws follow a power law (Zipf weights, s = 1.1, over a shuffled order), so
  a few accounts post most statuses and are followed by most accounts.
* The reader follows `reader_follows` accounts (≈50), picked by the same weights, so its
  home timeline is large; every other account follows a Pareto-distributed number of
  accounts (most follow a few, some hundreds). Follows notify their target.
* `statuses` statuses, one every ~20 s ending at END (a fixed instant in the past, so the
  rows do not depend on when they are made, and ids made during a run sort after them).
  ~75 % are posts (public 80 %, unlisted 10 %, private 10 %), ~17 % are public replies to a
  recent public or unlisted status (chains form, so threads have ancestors and
  descendants), ~8 % are reblogs of a recent public or unlisted status by another account.
* About one favourite per four statuses, on public or unlisted statuses, by any account.
* Text is plain words (no links, mentions or hashtags), so the stored HTML is what
  `aloft.services.text.render` makes of it (a test checks that).

Every invariant the app keeps holds, so the server cannot tell this data from data written
through the API: counters (statuses_count, following/followers_count, replies_count,
reblogs_count, favourites_count) are computed from the rows made here; ids are snowflakes
(`aloft.ids.id_for_time`) for each row's own time, unique per table; notifications carry the
dedupe and group keys `aloft.services.notifications` gives them; the reader's access token
is written by `aloft.services.auth.insert_token` (stored as its SHA-256).

`Dataset.rows(table)` yields the rows in insertion order, in chunks; `seed(engine, dataset)`
writes them into a migrated, empty schema through SQLAlchemy Core, in one transaction.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from aloft.ids import id_for_time
from aloft.services import auth
from aloft.services.passwords import hash_password
from aloft.storage import schema

# Bump when the generator changes what it makes: cached databases are keyed by it.
VERSION = 1
END = datetime(2025, 1, 1, tzinfo=UTC)
END_MS = int(END.timestamp() * 1000)
STATUS_GAP_MS = 20_000
ZIPF = 1.1
REPLY_SHARE = 0.17
REBLOG_SHARE = 0.08
RECENT = 400  # replies and reblogs pick among this many latest statuses
FAVOURITES_PER_STATUS = 0.25
PASSWORD = "bench password"
READER = "reader"
SCOPES = ("read", "write", "follow", "push")
CHUNK = 5000
FTS_TRIGGER = "statuses_fts_insert"  # migration 0002
PUBLIC, UNLISTED, PRIVATE = 0, 1, 2
POST, REPLY, REBLOG = 0, 1, 2
_TEXT = (
    "the sky over the harbour was grey and the boats came in slowly one after another "
    "while gulls argued about bread on the pier and somebody played an old song twice "
    "coffee tastes better when it is raining outside and the train is late again today "
    "reading a long book about mountains rivers maps and the people who drew them by hand"
)
WORDS = tuple(_TEXT.split())
# Notifications of these kinds share a group (aloft.services.notifications): a group
# started less than 12 hours before a new notification of its kind takes it.
GROUPABLE = ("favourite", "reblog", "follow")
GROUP_SPAN_HOURS = 12


@dataclass(frozen=True)
class Size:
    """How big a dataset is, and the seed that draws it."""

    statuses: int
    accounts: int
    seed: int = 1
    reader_follows: int = 50

    def __post_init__(self) -> None:
        if self.accounts < 3:
            raise ValueError("a dataset needs at least 3 accounts")
        if self.statuses < 10:
            raise ValueError("a dataset needs at least 10 statuses")

    @property
    def key(self) -> str:
        """A name for this dataset, unique per size, seed and generator version."""
        return (
            f"s{self.statuses}-a{self.accounts}-f{self.reader_follows}-seed{self.seed}-v{VERSION}"
        )


def default_accounts(statuses: int) -> int:
    """One account per 100 statuses, at least 30: 10,000 → 100, 1,000,000 → 10,000."""
    return max(30, statuses // 100)


@dataclass
class Targets:
    """What the benchmark's requests point at (all visible to the reader)."""

    reader_id: int
    token: str
    statuses: list[int] = field(default_factory=list)  # GET /api/v1/statuses/:id
    threads: list[int] = field(default_factory=list)  # replies with ancestors: context
    favourites: list[int] = field(default_factory=list)  # public, not the reader's own

    def to_dict(self) -> dict[str, Any]:
        return {
            "reader_id": self.reader_id,
            "token": self.token,
            "statuses": self.statuses,
            "threads": self.threads,
            "favourites": self.favourites,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Targets:
        return cls(**data)


class _Ids:
    """Snowflakes for given instants, unique within one table (the sequence bits drawn from
    the dataset's RNG, moved on if taken)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[int] = set()

    def at(self, ms: int) -> int:
        snowflake = id_for_time(ms) | self.rng.getrandbits(15)
        while snowflake in self.used:
            snowflake += 1
        self.used.add(snowflake)
        return snowflake


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Dataset:
    """The rows of one `Size`, drawn on first use (pure: no I/O, no clock)."""

    def __init__(self, size: Size) -> None:
        self.size = size

    @cached_property
    def _plan(self) -> _Plan:
        return _Plan(self.size)

    @property
    def targets(self) -> Targets:
        return self._plan.targets

    @property
    def counts(self) -> dict[str, int]:
        """Rows per table."""
        plan = self._plan
        return {
            "accounts": self.size.accounts,
            "follows": len(plan.follows),
            "statuses": self.size.statuses,
            "favourites": len(plan.favourites),
            "notifications": len(plan.notifications),
        }

    def rows(self, table: str, password_hash: str = "") -> Iterator[list[dict[str, Any]]]:
        """The rows of `table` in insertion order, CHUNK at a time."""
        yield from _chunks(self._plan.table_rows(table, password_hash))


TABLES = ("accounts", "follows", "statuses", "favourites", "notifications")


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(itertools.islice(rows, CHUNK)):
        yield chunk


class _Plan:
    """Everything drawn for one size, kept in compact arrays (a million statuses fit)."""

    def __init__(self, size: Size) -> None:
        self.size = size
        rng = random.Random(size.seed)
        self.rng = rng
        n = size.accounts
        order = list(range(1, n))
        rng.shuffle(order)
        weight = [0.0] * n
        for rank, account in enumerate(order):
            weight[account] = 1.0 / (rank + 1) ** ZIPF
        weight[0] = 1.0 / (n // 4 + 1) ** ZIPF  # the reader posts like a middling account
        self.cumulative = list(itertools.accumulate(weight))
        self.account_ids = [id_for_time(END_MS - 400 * 86_400_000 + i * 1000) for i in range(n)]
        self.created_ms = [END_MS - 400 * 86_400_000 + i * 1000 for i in range(n)]
        self.tokens = {0: base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()}

        self.following = [0] * n
        self.followers = [0] * n
        self.follows: list[tuple[int, int]] = []  # (follower, target)
        self._draw_follows()

        total = size.statuses
        self.author = array("i", [0]) * total
        self.kind = array("b", [0]) * total
        self.visibility = array("b", [0]) * total
        self.parent = array("i", [-1]) * total
        self.ms = array("q", [0]) * total
        self.replies = array("i", [0]) * total
        self.reblogs = array("i", [0]) * total
        self.favourited = array("i", [0]) * total
        self.status_count = [0] * n
        self.last_ms = [0] * n
        self.status_ids: list[int] = []
        self._draw_statuses()

        self.favourites: list[tuple[int, int, int]] = []  # (account, status index, ms)
        self._draw_favourites()
        self.notifications: list[tuple[int, int, str, int | None, int]] = []
        self._collect_notifications()
        self.targets = self._targets()

    def _pick(self, limit: int | None = None) -> int:
        """An account by popularity (below `limit` if given)."""
        top = self.cumulative[-1] if limit is None else self.cumulative[limit - 1]
        return bisect.bisect_left(self.cumulative, self.rng.random() * top)

    def _draw_follows(self) -> None:
        rng, n = self.rng, self.size.accounts
        start = END_MS - 400 * 86_400_000 + n * 1000
        for account in range(n):
            if account == 0:
                want = min(self.size.reader_follows, n - 1)
            else:
                want = min(n - 1, int(rng.paretovariate(1.2) * 3), 1000)
            chosen: set[int] = set()
            tries = 0
            while len(chosen) < want and tries < want * 20:
                tries += 1
                target = self._pick()
                if target != account:
                    chosen.add(target)
            for target in sorted(chosen):
                self.follows.append((account, target))
                self.following[account] += 1
                self.followers[target] += 1
        # Follows happened in an order of their own, over the ten days before the posts.
        rng.shuffle(self.follows)
        span = 10 * 86_400_000
        self.follow_ms = sorted(start + rng.randrange(span) for _ in range(len(self.follows)))

    def _draw_statuses(self) -> None:
        rng, total = self.rng, self.size.statuses
        ids = _Ids(rng)
        first_ms = END_MS - total * STATUS_GAP_MS
        reblogged: set[tuple[int, int]] = set()
        for i in range(total):
            ms = first_ms + i * STATUS_GAP_MS + rng.randrange(STATUS_GAP_MS)
            author = self._pick()
            roll = rng.random()
            kind, visibility, parent = POST, PUBLIC, -1
            if i > 0 and roll < REPLY_SHARE + REBLOG_SHARE:
                candidate = i - 1 - min(int(rng.expovariate(1 / 40)), RECENT, i - 1)
                if self.kind[candidate] != REBLOG and self.visibility[candidate] in (
                    PUBLIC,
                    UNLISTED,
                ):
                    if roll < REPLY_SHARE:
                        kind, parent = REPLY, candidate
                    elif self.author[candidate] != author and (candidate, author) not in reblogged:
                        kind, parent = REBLOG, candidate
                        visibility = self.visibility[candidate]
                        reblogged.add((candidate, author))
            if kind == POST:
                share = rng.random()
                visibility = PUBLIC if share < 0.8 else UNLISTED if share < 0.9 else PRIVATE
            self.author[i], self.kind[i], self.visibility[i] = author, kind, visibility
            self.parent[i], self.ms[i] = parent, ms
            self.status_ids.append(ids.at(ms))
            # As statuses.create and reblog count: every non-direct status of its author; a
            # public or unlisted reply in its parent's replies_count; a reblog in reblogs_count.
            self.status_count[author] += 1
            self.last_ms[author] = ms
            if kind == REPLY:
                self.replies[parent] += 1
            elif kind == REBLOG:
                self.reblogs[parent] += 1

    def _draw_favourites(self) -> None:
        rng, total, n = self.rng, self.size.statuses, self.size.accounts
        wanted = int(total * FAVOURITES_PER_STATUS)
        seen: set[int] = set()
        for _ in range(wanted):
            index = rng.randrange(total)
            if self.kind[index] == REBLOG or self.visibility[index] == PRIVATE:
                continue
            account = rng.randrange(n)
            key = account * total + index
            if key in seen:
                continue
            seen.add(key)
            ms = min(self.ms[index] + rng.randrange(1, 3_600_000), END_MS)
            self.favourites.append((account, index, ms))
            self.favourited[index] += 1
        self.favourites.sort(key=lambda f: f[2])

    def _collect_notifications(self) -> None:
        """(recipient, from, kind, status index, ms) as services.notifications.notify would
        record them: never about oneself, in the order they happened."""
        out = self.notifications
        for (follower, target), ms in zip(self.follows, self.follow_ms, strict=True):
            out.append((target, follower, "follow", None, ms))
        for i in range(self.size.statuses):
            if self.kind[i] == REBLOG:
                parent = self.parent[i]
                if self.author[parent] != self.author[i]:
                    out.append((self.author[parent], self.author[i], "reblog", parent, self.ms[i]))
        for account, index, ms in self.favourites:
            if self.author[index] != account:
                out.append((self.author[index], account, "favourite", index, ms))
        out.sort(key=lambda n: n[4])

    def _targets(self) -> Targets:
        rng = self.rng
        public = [
            i
            for i in range(self.size.statuses)
            if self.visibility[i] == PUBLIC and self.kind[i] != REBLOG
        ]
        threads = [
            i for i in public if self.kind[i] == REPLY and self.kind[self.parent[i]] != REBLOG
        ]
        others = [i for i in public if self.author[i] != 0]

        def sample(pool: list[int], k: int) -> list[int]:
            picked = rng.sample(pool, min(k, len(pool)))
            return [self.status_ids[i] for i in picked]

        return Targets(
            reader_id=self.account_ids[0],
            token=self.tokens[0],
            statuses=sample(public, 1000),
            threads=sample(threads, 1000),
            favourites=sample(others, 20_000),
        )

    # -- rows --------------------------------------------------------------------------------

    def table_rows(self, table: str, password_hash: str) -> Iterator[dict[str, Any]]:
        if table == "accounts":
            return self._account_rows(password_hash)
        if table == "follows":
            return self._follow_rows()
        if table == "statuses":
            return self._status_rows()
        if table == "favourites":
            return self._favourite_rows()
        if table == "notifications":
            return self._notification_rows()
        raise KeyError(table)

    def _account_rows(self, password_hash: str) -> Iterator[dict[str, Any]]:
        for i in range(self.size.accounts):
            name = READER if i == 0 else f"user{i}"
            yield {
                "id": self.account_ids[i],
                "username": name,
                "username_lower": name,
                "email": f"{name}@bench.invalid",
                "password_hash": password_hash,
                "display_name": "The reader" if i == 0 else f"User {i}",
                "created_at": _when(self.created_ms[i]),
                "followers_count": self.followers[i],
                "following_count": self.following[i],
                "statuses_count": self.status_count[i],
                "last_status_at": _when(self.last_ms[i]) if self.last_ms[i] else None,
            }

    def _follow_rows(self) -> Iterator[dict[str, Any]]:
        ids = _Ids(random.Random(self.size.seed + 1))
        for (account, target), ms in zip(self.follows, self.follow_ms, strict=True):
            yield {
                "account_id": self.account_ids[account],
                "target_account_id": self.account_ids[target],
                "id": ids.at(ms),
                "created_at": _when(ms),
            }

    def _status_rows(self) -> Iterator[dict[str, Any]]:
        words = random.Random(self.size.seed + 2)
        for i in range(self.size.statuses):
            kind, parent = self.kind[i], self.parent[i]
            body = "" if kind == REBLOG else " ".join(words.choices(WORDS, k=words.randint(4, 30)))
            yield {
                "id": self.status_ids[i],
                "account_id": self.account_ids[self.author[i]],
                "in_reply_to_id": self.status_ids[parent] if kind == REPLY else None,
                "in_reply_to_account_id": (
                    self.account_ids[self.author[parent]] if kind == REPLY else None
                ),
                "reblog_of_id": self.status_ids[parent] if kind == REBLOG else None,
                "text": body,
                # What text.render makes of plain words (pinned by a test).
                "content": f"<p>{body}</p>" if body else "",
                "spoiler_text": "",
                "sensitive": False,
                "visibility": self.visibility[i],
                "language": None if kind == REBLOG else "en",
                "app_id": None,
                "created_at": _when(self.ms[i]),
                "replies_count": self.replies[i],
                "reblogs_count": self.reblogs[i],
                "favourites_count": self.favourited[i],
            }

    def _favourite_rows(self) -> Iterator[dict[str, Any]]:
        ids = _Ids(random.Random(self.size.seed + 3))
        for account, index, ms in self.favourites:
            yield {
                "id": ids.at(ms),
                "account_id": self.account_ids[account],
                "status_id": self.status_ids[index],
                "created_at": _when(ms),
            }

    def _notification_rows(self) -> Iterator[dict[str, Any]]:
        ids = _Ids(random.Random(self.size.seed + 4))
        group_start: dict[tuple[int, str], int] = {}
        for recipient, sender, kind, index, ms in self.notifications:
            status_id = self.status_ids[index] if index is not None else None
            group_key = None
            if kind in GROUPABLE:
                prefix = "follow" if kind == "follow" else f"{kind}-{status_id}"
                hour = ms // 3_600_000
                started = group_start.get((recipient, prefix))
                if started is not None and hour < started + GROUP_SPAN_HOURS:
                    hour = started
                group_start[(recipient, prefix)] = hour
                group_key = f"{prefix}-{hour}"
            yield {
                "id": ids.at(ms),
                "account_id": self.account_ids[recipient],
                "from_account_id": self.account_ids[sender],
                "type": kind,
                "status_id": status_id,
                "dedupe_key": f"{kind}:{self.account_ids[sender]}:{status_id or ''}",
                "group_key": group_key,
                "created_at": _when(ms),
            }


def seed(engine: Engine, dataset: Dataset, progress: Any = None) -> None:
    """Write `dataset` into the migrated, empty schema behind `engine`, in one transaction.
    `progress(table, rows_done)` is called after each chunk, if given."""
    password_hash = hash_password(PASSWORD)  # one argon2 hash: 10,000 would take minutes
    targets = dataset.targets
    with engine.begin() as conn:
        # The search index (migration 0002) made a bulk insert 3-4 times slower when kept
        # row by row: SQLite's trigger is dropped and the FTS table filled in one statement
        # afterwards, as the migration fills it for existing rows, then the trigger is put
        # back exactly as migrated; PostgreSQL's GIN indexes are dropped and built again
        # from their own definitions (pg_indexes) once the rows are in.
        trigger = None
        gin: list[str] = []
        if conn.dialect.name == "postgresql":
            for index_name, definition in conn.execute(
                sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema() AND indexdef LIKE :gin"
                ),
                {"gin": "%USING gin%"},
            ).all():
                conn.exec_driver_sql(f'DROP INDEX "{index_name}"')
                gin.append(definition)
        if conn.dialect.name == "sqlite":
            trigger = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (FTS_TRIGGER,),
            ).scalar()
            if trigger is not None:
                conn.exec_driver_sql(f"DROP TRIGGER {FTS_TRIGGER}")
        for name in TABLES:
            table = schema.metadata.tables[name]
            done = 0
            for chunk in dataset.rows(name, password_hash):
                conn.execute(sa.insert(table), chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done)
        if trigger is not None:
            conn.exec_driver_sql(
                "INSERT INTO statuses_fts (rowid, body) "
                "SELECT id, spoiler_text || ' ' || text FROM statuses WHERE reblog_of_id IS NULL"
            )
            conn.exec_driver_sql(trigger)
        for definition in gin:
            conn.exec_driver_sql(definition)
        app_id = id_for_time(END_MS)
        conn.execute(
            sa.insert(schema.apps).values(
                id=app_id,
                name="aloft bench",
                website=None,
                redirect_uris=auth.OOB_REDIRECT,
                scopes=" ".join(SCOPES),
                client_id=f"bench-{dataset.size.seed}",
                client_secret=f"bench-secret-{dataset.size.seed}",
                created_at=END,
            )
        )
        auth.insert_token(
            conn,
            app_id,
            targets.reader_id,
            SCOPES,
            token_id=id_for_time(END_MS) + 1,
            token=targets.token,
            created_at=END,
        )
