"""`aloft bench`: measure Aloft against the bare route; `aloft bench compare A B`.

Exit codes: 0 every request succeeded, 1 some request failed (an HTTP status of 400 or
more, or a socket error: the report names where), 2 the benchmark could not run (one line
says why: wrk missing, PostgreSQL missing, no cluster, a server that would not start).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

EXIT_FAILED_REQUESTS = 1
EXIT_UNUSABLE = 2
DEFAULT_CONNECTIONS = (1, 4, 16, 64)
QUICK_CONNECTIONS = (4,)
DEFAULT_STATUSES = 10_000
QUICK_STATUSES = 300
QUICK_ACCOUNTS = 30
READER_FOLLOWS = 50


def _fail(message: str) -> NoReturn:
    click.secho(f"aloft: {message}", fg="red", err=True)
    sys.exit(EXIT_UNUSABLE)


def _numbers(text: str | None, name: str, low: int) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}") from None
    if not values or min(values) < low:
        raise click.BadParameter(f"every {name} must be at least {low}")
    return values


@click.group(invoke_without_command=True)
@click.option("--quick", is_flag=True, help="A smoke test: tiny dataset, 4 connections, 2 s each.")
@click.option(
    "--engine",
    type=click.Choice(["sqlite", "postgresql", "cluster", "all"]),
    default="all",
    show_default=True,
    help="all: SQLite and PostgreSQL (a cluster only when named: it is someone's cluster).",
)
@click.option(
    "--statuses",
    default=None,
    help=f"Statuses in the dataset; a list (10000,100000) runs each [{DEFAULT_STATUSES}].",
)
@click.option(
    "--accounts",
    default=None,
    help="Accounts; one number, or one per size [statuses/100, at least 30].",
)
@click.option(
    "--follows",
    default=None,
    help="Accounts the reader follows; one number, or one per size [50].",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The dataset's seed.")
@click.option(
    "--endpoints",
    default=None,
    help="Endpoints to measure, by name, comma-separated [all of them: "
    "home,status,post,instance,public,notifications,context,favourite].",
)
@click.option("--connections", default=None, help="Connection counts [1,4,16,64; quick 4].")
@click.option(
    "--duration", type=click.FloatRange(min=1), default=None, help="Seconds each [10; quick 2]."
)
@click.option(
    "--warmup",
    type=click.FloatRange(min=0),
    default=None,
    help="Unrecorded seconds before each measurement [1; quick 0].",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Server workers."
)
@click.option(
    "--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="wrk threads."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/bench"),
    show_default=True,
    help="Where run folders go (and the dataset cache, in OUT/cache).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where seeded databases are kept, per size and seed [OUT/cache].",
)
@click.option(
    "--dir",
    "cluster_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cluster"),
    show_default=True,
    help="The cluster directory, for --engine cluster.",
)
@click.pass_context
def bench(
    ctx: click.Context,
    quick: bool,
    engine: str,
    statuses: str | None,
    accounts: str | None,
    follows: str | None,
    seed: int,
    endpoints: str | None,
    connections: str | None,
    duration: float | None,
    warmup: float | None,
    workers: int,
    threads: int,
    out: Path,
    cache: Path | None,
    cluster_dir: Path,
) -> None:
    """Measure Aloft (a real `aloft serve` on a seeded dataset) with wrk, next to a bare
    Starlette route under the same uvicorn; write bench.json, bench.md and report.html."""
    if ctx.invoked_subcommand is not None:
        return
    from aloft.bench.dataset import Size, default_accounts
    from aloft.bench.load import ENDPOINTS, LoadError, wrk_path
    from aloft.bench.run import Plan
    from aloft.bench.server import BenchError, postgres_available

    sizes_given = _numbers(statuses, "size", 10)
    sizes = sizes_given or ((QUICK_STATUSES,) if quick else (DEFAULT_STATUSES,))
    account_counts = _numbers(accounts, "account count", 3)
    if account_counts is None:
        account_counts = tuple(
            QUICK_ACCOUNTS if quick and not sizes_given else default_accounts(s) for s in sizes
        )
    elif len(account_counts) == 1:
        account_counts = account_counts * len(sizes)
    elif len(account_counts) != len(sizes):
        raise click.BadParameter("give one account count, or one per size", param_hint="--accounts")
    follow_counts = _numbers(follows, "follow count", 1) or (READER_FOLLOWS,)
    if len(follow_counts) == 1:
        follow_counts = follow_counts * len(sizes)
    elif len(follow_counts) != len(sizes):
        raise click.BadParameter("give one follow count, or one per size", param_hint="--follows")
    names = (
        tuple(ENDPOINTS)
        if endpoints is None
        else tuple(n.strip() for n in endpoints.split(",") if n.strip())
    )
    unknown = [n for n in names if n not in ENDPOINTS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown endpoint {', '.join(unknown) or '(none)'}; choose from {','.join(ENDPOINTS)}",
            param_hint="--endpoints",
        )
    engines = ("sqlite", "postgresql") if engine == "all" else (engine,)
    plan = Plan(
        engines=engines,
        sizes=tuple(
            Size(s, a, seed=seed, reader_follows=min(f, a - 1))
            for s, a, f in zip(sizes, account_counts, follow_counts, strict=True)
        ),
        endpoints=names,
        connections=_numbers(connections, "connection count", 1)
        or (QUICK_CONNECTIONS if quick else DEFAULT_CONNECTIONS),
        duration=duration if duration is not None else (2.0 if quick else 10.0),
        warmup=warmup if warmup is not None else (0.0 if quick else 1.0),
        workers=workers,
        threads=threads,
        out=out,
        cache=cache or out / "cache",
        cluster_dir=cluster_dir,
        quick=quick,
    )
    try:
        wrk_path()
        if "postgresql" in engines:
            postgres_available()
    except (LoadError, BenchError) as exc:
        _fail(str(exc))
    sys.exit(_run(plan))


def _run(plan: Any) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy.exc import SQLAlchemyError

    from aloft.bench import report
    from aloft.bench.load import LoadError
    from aloft.bench.run import Runner
    from aloft.bench.server import BenchError

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = plan.out / f"{stamp}{'-quick' if plan.quick else ''}"
    console = Console(stderr=True)
    console.print(
        f"aloft bench: {len(plan.engines)} engine(s) × {len(plan.sizes)} size(s), "
        f"{plan.steps()} measurements of {plan.duration:g} s: about "
        f"{plan.estimate_seconds() / 60:.1f} min plus seeding; writing {folder}"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=plan.steps())
        runner = Runner(
            plan,
            folder,
            say=lambda text: progress.update(task, description=text),
            step=lambda: progress.advance(task),
        )
        try:
            runner.run()
        except (BenchError, LoadError) as exc:
            progress.stop()
            _fail(f"{exc} (partial results in {folder})")
        except OSError as exc:  # a folder we cannot write, a full disk
            progress.stop()
            _fail(f"{exc.strerror or exc}: {exc.filename or ''} (partial results in {folder})")
        except SQLAlchemyError as exc:  # seeding: the database refused
            progress.stop()
            first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            _fail(f"seeding the dataset failed: {first}")
        except KeyboardInterrupt:
            progress.stop()
            _fail(f"interrupted (partial results in {folder})")
    record = runner.record.to_dict()
    write_reports(folder, record)
    out = Console(width=max(Console().width, 120 + 60 * len(record["runs"])))
    out.print(report.table(record))
    ok = record["all_succeeded"]
    out.print(f"[{'green' if ok else 'red bold'}]{report.verdict_line(record)}[/]")
    out.print(f"report: {folder / 'report.html'}  json: {folder / 'bench.json'}")
    return 0 if ok else EXIT_FAILED_REQUESTS


def write_reports(folder: Path, record: dict[str, Any]) -> None:
    """bench.json, bench.md and report.html in `folder`."""
    from aloft.bench import report

    (folder / "bench.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (folder / "bench.md").write_text(report.markdown(record), encoding="utf-8")
    (folder / "report.html").write_text(report.render_html(record), encoding="utf-8")


@bench.command("compare")
@click.argument("before", type=click.Path(exists=True, path_type=Path))
@click.argument("after", type=click.Path(exists=True, path_type=Path))
def compare_command(before: Path, after: Path) -> None:
    """Two runs side by side (bench.json files or run folders): requests per second, p99
    and the change, for every engine, size, endpoint and connection count in both."""
    from rich.console import Console

    from aloft.bench.report import compare_table

    def load(path: Path) -> dict[str, Any]:
        file = path / "bench.json" if path.is_dir() else path
        try:
            data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _fail(f"cannot read {file}: {exc}")
        return data

    Console(width=160).print(compare_table(load(before), load(after)))


@bench.command("report")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report_command(folder: Path) -> None:
    """Draw a run folder's bench.md and report.html again from its bench.json."""
    try:
        record = json.loads((folder / "bench.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read {folder / 'bench.json'}: {exc}")
    write_reports(folder, record)
    click.echo(f"report: {folder / 'report.html'}")
