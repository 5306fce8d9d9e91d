"""`aloft drill …`: run a drill, or check a recorded one again.

Exit codes: 0 the verdict passes, 1 it fails (something lost, duplicated or unexpected, a
client of either kind saw an error, a read was stale, a write was acknowledged by a server
that did not lead, or the stall budget was exceeded), 2 the drill could not be run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from aloft.cluster.commands import DIR_OPTION
from aloft.drill.faults import FAULTS

EXIT_FAILED = 1
EXIT_UNUSABLE = 2


class WorkloadOption(click.Option):
    """An option for a field of `WorkloadSettings` of the same name, which holds its default:
    the option is None unless given, and its help shows the dataclass's default (imported
    only when help is shown, so the CLI starts without the workload's imports)."""

    def get_help_extra(self, ctx: click.Context) -> Any:
        from aloft.drill.workload import WorkloadSettings

        extra = super().get_help_extra(ctx)
        extra["default"] = f"{getattr(WorkloadSettings(), str(self.name)):g}"
        return extra


def out_option(help_text: str) -> Any:
    """--out, the folder drills write their runs under."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("runs"),
        show_default=True,
        help=help_text,
    )


CLIENTS = click.option(
    "--clients",
    cls=WorkloadOption,
    type=click.IntRange(1, 64),
    default=None,
    help="Careful clients (retry with the same Idempotency-Key), each with its own account.",
)
PLAIN_CLIENTS = click.option(
    "--plain-clients",
    cls=WorkloadOption,
    type=click.IntRange(0, 64),
    default=None,
    help="Plain clients (send each request once), each with its own account.",
)


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options that were given (a WorkloadOption left out is None)."""
    return {name: value for name, value in options.items() if value is not None}


def default_duration(fault: str, fault_at: float, fault_window: float | None) -> float:
    """60 s, or as long as the fault needs: its window and 20 s of recovery after it."""
    kind = FAULTS.get(fault)
    if kind is None or fault == "none":
        return 60.0
    window = fault_window if fault_window is not None else kind.window
    return max(60.0, fault_at + window + 20.0)


def _fail(message: str) -> NoReturn:
    click.secho(f"aloft: {message}", fg="red", err=True)
    sys.exit(EXIT_UNUSABLE)


@click.group()
def drill() -> None:
    """Break the cluster under load on purpose and prove nothing acknowledged was lost."""


@drill.command("run")
@click.option(
    "--fault",
    type=click.Choice(list(FAULTS)),
    default="crash-primary-node",
    show_default=True,
    help="What to break (none: only the workload and the checker).",
)
@DIR_OPTION
@click.option("--url", default=None, help="Send the traffic here instead (127.0.0.0/8 only).")
@click.option(
    "--duration",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds of workload [60, or longer when the fault needs it: fault-at + window + 20].",
)
@click.option(
    "--fault-at",
    type=click.FloatRange(min=0),
    default=20,
    show_default=True,
    help="Seconds into the run when the fault is injected.",
)
@click.option(
    "--fault-window",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds from the fault until it is repaired [20; 30 for hang-* and partition-primary"
    " and isolate-primary-from-consensus, which must outlast the leader lease (at most 20 s)].",
)
@CLIENTS
@PLAIN_CLIENTS
@click.option(
    "--plain-timeout",
    cls=WorkloadOption,
    type=click.FloatRange(min=0.1),
    default=None,
    help="How long a plain client waits for one answer (seconds).",
)
@out_option("Where run folders are written.")
@click.option(
    "--stall-budget",
    type=click.FloatRange(min=0),
    default=None,
    help="Fail when the write stall around the fault is longer (seconds).",
)
@click.option(
    "--request-timeout",
    cls=WorkloadOption,
    type=click.FloatRange(min=0.1),
    default=None,
    help="Deadline of one HTTP request of a careful client (seconds).",
)
@click.option(
    "--write-budget",
    cls=WorkloadOption,
    type=click.FloatRange(min=0),
    default=None,
    help="How long a careful client keeps retrying one post or follow (seconds).",
)
def run_command(
    fault: str,
    directory: Path,
    url: str | None,
    fault_at: float,
    fault_window: float | None,
    out: Path,
    stall_budget: float | None,
    duration: float | None = None,
    **workload: Any,
) -> None:
    """Run a workload against the cluster (or --url), inject the fault, check the history."""
    from rich.console import Console

    from aloft.drill.faults import DrillError
    from aloft.drill.run import DrillPlan, print_verdict, run_drill
    from aloft.drill.workload import WorkloadError, WorkloadSettings

    try:
        plan = DrillPlan(
            fault=fault,
            directory=directory if (fault != "none" or url is None) else None,
            url=url,
            duration=duration or default_duration(fault, fault_at, fault_window),
            fault_at=fault_at,
            fault_window=fault_window,
            out=out,
            stall_budget=stall_budget,
            workload=WorkloadSettings(**_given(workload)),
        )
        result = run_drill(plan, Console(stderr=True))
    except (DrillError, WorkloadError) as exc:
        _fail(str(exc))
    print_verdict(Console(), result)
    sys.exit(0 if result.verdict.passed else EXIT_FAILED)


@drill.command("check")
@click.argument("history_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--stall-budget",
    type=click.FloatRange(min=0),
    default=None,
    help="Fail when the write stall around the fault is longer (seconds).",
)
def check_command(history_file: Path, stall_budget: float | None) -> None:
    """Check a recorded history.jsonl again and print the verdict."""
    from rich.console import Console

    from aloft.drill.checker import check
    from aloft.drill.history import History, HistoryError
    from aloft.drill.report import verdict_table

    try:
        history = History.read(history_file)
    except (HistoryError, OSError) as exc:
        _fail(f"cannot read the history: {exc}")
    budget = stall_budget if stall_budget is not None else history.meta.get("stall_budget")
    verdict = check(history, budget)
    Console().print(verdict_table(verdict, f"drill {history.meta.get('fault', '?')} (re-checked)"))
    sys.exit(0 if verdict.passed else EXIT_FAILED)


@drill.command("matrix")
@click.option("--runs", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option(
    "--faults",
    default=None,
    help="Comma-separated faults to run [every fault `aloft drill run` knows].",
)
@click.option("--quick", is_flag=True, help="Only a short subset that takes a few minutes.")
@DIR_OPTION
@out_option("Where the matrix folder is written.")
@CLIENTS
@PLAIN_CLIENTS
def matrix_command(
    runs: int,
    faults: str | None,
    quick: bool,
    directory: Path,
    out: Path,
    **workload: Any,
) -> None:
    """Every fault, N runs each, on the running cluster: one table, one HTML report. Exit
    status 1 when any run failed or could not start on a healthy cluster."""
    from rich.console import Console

    from aloft.drill import matrix
    from aloft.drill.faults import DrillError
    from aloft.drill.workload import WorkloadSettings

    if faults and quick:
        _fail("give --faults or --quick, not both")
    chosen = (
        tuple(f.strip() for f in faults.split(",") if f.strip())
        if faults
        else (matrix.QUICK if quick else matrix.all_faults())
    )
    plan = matrix.MatrixPlan(
        faults=chosen,
        runs=runs,
        out=out,
        directory=directory,
        workload=WorkloadSettings(**_given(workload)),
    )
    console = Console(stderr=True)
    try:
        result = matrix.run_matrix(plan, console)
    except DrillError as exc:
        _fail(str(exc))
    # Piped output gets a width that fits the table rather than rich's default of 80.
    Console(width=None if sys.stdout.isatty() else 160).print(matrix.table(result))
    click.echo(f"report: {result.folder / 'report.html'}")
    sys.exit(0 if result.passed else EXIT_FAILED)


@drill.command("soak")
@click.option("--minutes", type=click.FloatRange(min=0.1), default=30, show_default=True)
@DIR_OPTION
@out_option("Where the run folder is written.")
@click.option("--cpu/--no-cpu", default=True, show_default=True, help="Keep every core busy.")
@click.option(
    "--fsync/--no-fsync", default=True, show_default=True, help="Write and fsync without pause."
)
@click.option(
    "--delay-ms",
    type=click.FloatRange(min=0),
    default=50,
    show_default=True,
    help="Delay on every zone's link, each way (zone to zone: twice this).",
)
@click.option("--jitter-ms", type=click.FloatRange(min=0), default=25, show_default=True)
@click.option(
    "--loss",
    "loss_percent",
    type=click.FloatRange(0, 50),
    default=0.5,
    show_default=True,
    help="Percent of frames dropped on every zone's link, each way.",
)
@CLIENTS
@PLAIN_CLIENTS
def soak_command(
    minutes: float,
    directory: Path,
    out: Path,
    cpu: bool,
    fsync: bool,
    delay_ms: float,
    jitter_ms: float,
    loss_percent: float,
    **workload: Any,
) -> None:
    """Steady traffic and no fault for a long time, under CPU, fsync and network stress;
    every promotion is a false failover. Exit 1 on any, or on a failed drill verdict."""
    from rich.console import Console

    from aloft.drill.faults import DrillError
    from aloft.drill.soak import SoakPlan, run_soak
    from aloft.drill.workload import WorkloadError, WorkloadSettings

    plan = SoakPlan(
        directory=directory,
        minutes=minutes,
        out=out,
        cpu=cpu,
        fsync=fsync,
        delay_ms=delay_ms,
        jitter_ms=jitter_ms,
        loss_percent=loss_percent,
        workload=WorkloadSettings(**_given(workload)),
    )
    try:
        result = run_soak(plan, Console(stderr=True))
    except (DrillError, WorkloadError) as exc:
        _fail(str(exc))
    verdict = "PASS" if result.passed else "FAIL: " + "; ".join(result.reasons)
    click.echo(
        f"soak {result.minutes:g} min: {result.promotions} promotion(s), "
        f"{result.leader_changes} leader change(s), load average mean "
        f"{result.load_average['mean']} max {result.load_average['max']}: {verdict}"
    )
    click.echo(f"run folder: {result.folder}")
    sys.exit(0 if result.passed else EXIT_FAILED)
