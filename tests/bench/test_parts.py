"""The pure parts of `aloft bench`: reading wrk's output, the scripts we give wrk, the
dataset (same seed, same rows; every invariant the app keeps, checked on a real SQLite file
with the app's own services), and the report drawn from a record."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from aloft.bench import report
from aloft.bench.dataset import TABLES, Dataset, Size, seed
from aloft.bench.load import CEILING, ENDPOINTS, LoadError, parse, script
from aloft.ids import id_time_ms
from aloft.services import auth, search, text
from aloft.services.notifications import notify
from aloft.storage.database import Database, create_engine
from aloft.storage.migrate import upgrade
from aloft.storage.schema import accounts, favourites, follows, notifications, statuses
from tests import pg

# What wrk 4.1.0 printed for one of our scripts against the bare route.
WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:56563/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.34ms   12.58ms  88.54ms   93.21%
    Req/Sec     3.09k     1.91k    6.59k    72.73%
  3444 requests in 1.15s, 554.94KB read
  Non-2xx or 3xx responses: 7
Requests/sec:   3006.06
Transfer/sec:    484.37KB
ALOFT-WRK {"requests": 3444, "duration_us": 1145686, "bytes": 568260, "connect": 0, \
"read": 2, "write": 0, "status": 7, "timeout": 1, "p50_us": 311, "p90_us": 7502, \
"p99_us": 72208, "max_us": 88539, "mean_us": 4338.6}
"""


def test_parse_reads_wrks_totals() -> None:
    result = parse(WRK_OUTPUT)
    assert result.requests == 3444
    assert result.seconds == pytest.approx(1.145686)
    assert result.rps == pytest.approx(3444 / 1.145686)
    assert result.errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1, "status": 7}
    assert result.failed == 10
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (0.311, 7.502, 72.208)
    assert result.max_ms == 88.539
    assert result.to_dict()["failed"] == 10


def test_parse_refuses_output_without_a_result() -> None:
    with pytest.raises(LoadError, match="no result"):
        parse("unable to connect to 127.0.0.1:1 Connection refused\n")
    with pytest.raises(LoadError, match="cannot read"):
        parse('ALOFT-WRK {"requests": 1}\n')


def test_scripts_walk_distinct_ids_with_the_token() -> None:
    lua = script(ENDPOINTS["favourite"], "tok", [11, 22, 33], offset=5)
    assert 'wrk.method = "POST"' in lua
    assert 'wrk.headers["Authorization"] = "Bearer tok"' in lua
    assert '"/api/v1/statuses/11/favourite", "/api/v1/statuses/22/favourite"' in lua
    assert "counter = 5 + (tid or 0)" in lua
    post = script(ENDPOINTS["post"], "tok", [])
    assert "application/x-www-form-urlencoded" in post
    assert '"status=bench+post+number+" .. counter .. ' in post
    bare = script(CEILING, "tok", [])
    assert "Authorization" not in bare and "function request" not in bare
    with pytest.raises(LoadError, match="no status ids"):
        script(ENDPOINTS["status"], "tok", [])


SMALL = Size(statuses=600, accounts=40, seed=7)


def _all_rows(dataset: Dataset) -> dict[str, list[dict[str, object]]]:
    return {t: [r for chunk in dataset.rows(t, "hash") for r in chunk] for t in TABLES}


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first, again = Dataset(SMALL), Dataset(SMALL)
    assert _all_rows(first) == _all_rows(again)
    assert first.targets == again.targets
    other = Dataset(Size(statuses=600, accounts=40, seed=8))
    assert _all_rows(other)["statuses"] != _all_rows(first)["statuses"]


def test_shape_power_law_reader_and_ids() -> None:
    dataset = Dataset(Size(statuses=5000, accounts=100, seed=3))
    rows = _all_rows(dataset)
    per_author: dict[object, int] = {}
    for row in rows["statuses"]:
        per_author[row["account_id"]] = per_author.get(row["account_id"], 0) + 1
        assert id_time_ms(int(row["id"])) == int(row["created_at"].timestamp() * 1000)  # type: ignore[attr-defined]
    counts = sorted(per_author.values(), reverse=True)
    assert sum(counts[:10]) > sum(counts) / 2  # a few accounts post most
    reader = dataset.targets.reader_id
    assert sum(1 for f in rows["follows"] if f["account_id"] == reader) == 50
    ids = [r["id"] for r in rows["statuses"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SMALL seeded into a migrated database of each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bench.db'}"
        engine = create_engine(url)
        upgrade(engine)
        seed(engine, Dataset(SMALL))
        engine.dispose()
        db = Database.from_url(url)
        yield db
        db.dispose()
        return
    with pg.running("bench") as server:
        engine = create_engine(server.url("bench"))
        seed(engine, Dataset(SMALL))
        engine.dispose()
        db = Database.from_url(server.url("bench"))
        yield db
        db.dispose()


def test_seeded_counters_match_the_rows(seeded: Database) -> None:
    s, a = statuses.c, accounts.c

    def check(conn: sa.Connection) -> None:
        for row in conn.execute(sa.select(accounts)):
            posted = conn.execute(
                sa.select(sa.func.count()).where(s.account_id == row.id, s.visibility != 3)
            ).scalar()
            following = conn.execute(
                sa.select(sa.func.count()).where(follows.c.account_id == row.id)
            ).scalar()
            followers = conn.execute(
                sa.select(sa.func.count()).where(follows.c.target_account_id == row.id)
            ).scalar()
            assert (row.statuses_count, row.following_count, row.followers_count) == (
                posted,
                following,
                followers,
            ), row.username
        replies = sa.alias(statuses)
        for row in conn.execute(sa.select(statuses)):
            assert (
                row.replies_count
                == conn.execute(
                    sa.select(sa.func.count()).where(
                        replies.c.in_reply_to_id == row.id, replies.c.visibility.in_((0, 1))
                    )
                ).scalar()
            )
            assert (
                row.reblogs_count
                == conn.execute(
                    sa.select(sa.func.count()).where(replies.c.reblog_of_id == row.id)
                ).scalar()
            )
            assert (
                row.favourites_count
                == conn.execute(
                    sa.select(sa.func.count()).where(favourites.c.status_id == row.id)
                ).scalar()
            )
            if row.text:
                assert row.content == text.render(row.text, "http://x", "x", {})
        assert conn.execute(sa.select(sa.func.count()).where(a.statuses_count > 0)).scalar()

    seeded.read(check)


def test_seeded_data_is_what_the_services_see(seeded: Database) -> None:
    targets = Dataset(SMALL).targets
    viewer = auth.authenticate(seeded, targets.token)
    assert viewer.account_id == targets.reader_id
    assert "write" in viewer.scopes

    # Notifications carry the app's dedupe keys: notifying again adds nothing.
    def renotify(conn: sa.Connection) -> tuple[int, int]:
        before = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
        for row in conn.execute(sa.select(notifications).limit(50)).all():
            notify(conn, row.account_id, row.from_account_id, row.type, row.status_id)
        after = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
        return int(before or 0), int(after or 0)

    before, after = seeded.write(renotify)
    assert before > 0 and before == after

    # The search index was filled after the bulk insert and is kept again from now on.
    found = search.search(seeded, "harbour", "x", {"statuses"}, 5, 0, targets.reader_id)
    assert found.statuses, "the seeded statuses are not in the search index"
    kept_by = sa.text(
        "SELECT indexname FROM pg_indexes WHERE indexdef LIKE :like"
        if seeded.is_postgres
        else "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :like"
    )
    like = "%USING gin%" if seeded.is_postgres else "statuses_fts%"
    names = seeded.read(lambda conn: set(conn.execute(kept_by, {"like": like}).scalars()))
    assert names == (
        {"ix_statuses_search_vector"}
        if seeded.is_postgres
        else {"statuses_fts_insert", "statuses_fts_delete", "statuses_fts_update"}
    )


def _record() -> dict[str, object]:
    def m(endpoint: str, connections: int, rps: float, failed: int = 0) -> dict[str, object]:
        return {
            "endpoint": endpoint,
            "label": ENDPOINTS[endpoint].label,
            "connections": connections,
            "requests": int(rps * 2),
            "rps": rps,
            "p50_ms": 1000 / rps,
            "p99_ms": 4000 / rps,
            "failed": failed,
            "ceiling_rps": 5000.0,
            "ratio": rps / 5000,
        }

    def run(engine: str, size: int, factor: float, failed: int = 0) -> dict[str, object]:
        return {
            "engine": engine,
            "size": {"statuses": size, "accounts": size // 100, "seed": 1},
            "measurements": [
                m("home", c, factor * 100 * c**0.5, failed if c == 4 else 0) for c in (1, 4, 16)
            ]
            + [m("instance", c, factor * 900) for c in (1, 4, 16)],
            "ceiling": [{"connections": c, "rps": 5000.0, "failed": 0} for c in (1, 4, 16)],
            "memory_mb": [80.0, 82.5],
            "seed_seconds": 1.5,
        }

    return {
        "meta": {
            "endpoints": ["home", "instance"],
            "connections": [1, 4, 16],
            "workers": 2,
            "duration": 10.0,
            "loadavg_start": [3.5, 2.0, 1.0],
            "loadavg_end": [4.0, 2.5, 1.5],
            "cpus": 2,
            "note": "shared machine",
        },
        "runs": [
            run("sqlite", 10_000, 1.0),
            run("postgresql", 10_000, 1.2),
            run("sqlite", 100_000, 0.5, failed=3),
            run("postgresql", 100_000, 0.9),
        ],
        "requests": 1000,
        "failed_requests": 3,
        "all_succeeded": False,
    }


def test_report_html_has_every_plot_and_says_what_failed() -> None:
    html = report.render_html(_record())  # type: ignore[arg-type]
    assert html.startswith("<!doctype html>") and html.endswith("</html>")
    for plot in ('class="throughput"', 'class="share"', 'class="latency"'):
        assert html.count(plot) == 1, plot
    assert html.count('class="concurrency"') == 2  # one per endpoint
    assert html.count('class="size"') == 2  # two sizes ran: cost against data size
    assert "3 of 1,000 requests failed" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "load average 3.50 2.00 1.00" in html


def test_report_without_several_sizes_draws_no_size_plot() -> None:
    record = _record()
    record["runs"] = record["runs"][:2]  # type: ignore[index]
    record["failed_requests"], record["all_succeeded"] = 0, True
    html = report.render_html(record)  # type: ignore[arg-type]
    assert 'class="size"' not in html
    assert "every request succeeded" in html


def test_terminal_and_markdown_tables() -> None:
    record = _record()
    out = io.StringIO()
    Console(file=out, width=200).print(report.table(record))  # type: ignore[arg-type]
    printed = out.getvalue()
    assert "GET /api/v1/timelines/home (20)" in printed and "of bare" in printed
    assert "postgresql · 100,000 statuses" in printed
    md = report.markdown(record)  # type: ignore[arg-type]
    assert md.splitlines()[0].startswith("| endpoint | conns | sqlite · 10,000 statuses req/s")
    assert "(3 failed)" in md
    assert "80, 82 MB" in md
    compare = io.StringIO()
    Console(file=compare, width=200).print(report.compare_table(record, record))  # type: ignore[arg-type]
    assert "+0 %" in compare.getvalue()
