"""`aloft cluster …`: up, status, down, switchover, heal. Every failure is one red line on stderr
and exit code 1, like the rest of the `aloft` command."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from aloft.cluster.errors import ClusterError

DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cluster"),
    show_default=True,
    help="The cluster directory (configuration, data, logs).",
)


def _fail(message: str) -> NoReturn:
    click.secho(f"aloft: {message}", fg="red", err=True)
    sys.exit(1)


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}" + ("; run as root" if exc.errno == 13 else "")


class _RichReporter:
    """Each step as a spinner line that turns into a tick with its duration."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        started = time.monotonic()
        if not self.console.is_terminal:  # no spinner in logs: one line per finished step
            yield
            self.console.print(f"✓ {title} ({time.monotonic() - started:.1f} s)")
            return
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as progress:
            progress.add_task(title, total=None)
            try:
                yield
            except Exception:
                self.console.print(f"[red]✗[/] {title}")
                raise
        self.console.print(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f} s)[/]")


@click.group()
def cluster() -> None:
    """A local three-zone cluster: etcd, Patroni + PostgreSQL 15, the app, HAProxy."""


@cluster.command("up")
@DIR_OPTION
@click.option("--zones", type=int, default=3, show_default=True, help="Number of zones (3–5).")
@click.option(
    "--timeout",
    type=float,
    default=180,
    show_default=True,
    help="Seconds to wait for the database to become healthy.",
)
@click.option(
    "--lease",
    type=int,
    default=None,
    help="Patroni's leader lease (ttl) for a new cluster, in seconds, 6 or more [6: a node "
    "crash stalls writes ~7 s]. 20 is Patroni's own floor, run unmodified; below it the "
    "cluster lowers that floor at start. See docs/PATRONI-LEASE.md for what was measured.",
)
def up_command(directory: Path, zones: int, timeout: float, lease: int | None) -> None:
    """Create (or start again) the cluster and wait until it is healthy."""
    from aloft.cluster import lifecycle

    socket = directory / "run" / "supervisor.sock"
    was_running = socket.exists()
    try:
        summary = lifecycle.up(directory, zones, _RichReporter(), timeout, lease)
    except ClusterError as exc:
        started = socket.exists() and not was_running
        _fail(
            str(exc)
            + (f"; `aloft cluster down --dir {directory}` stops what did start" if started else "")
        )
    except OSError as exc:
        _fail(_os_error(exc))
    for warning in summary.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    root = directory.absolute()
    click.echo(f"\nAloft cluster is up at {summary.url} (healthy in {summary.seconds:.0f} s).")
    click.echo(f"Sign in as {summary.admin_email} with password {summary.admin_password}")
    click.echo(f"  (kept in {root / 'credentials.json'}, readable by root only), e.g.:")
    click.echo(f"  toot login_cli --instance {summary.url} --email {summary.admin_email}")
    click.echo(
        f"Status: aloft cluster status --dir {directory}    "
        f"Stop: aloft cluster down --dir {directory}"
    )


@cluster.command("status")
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status_command(directory: Path, as_json: bool) -> None:
    """Zones, roles, timeline, replication lag, app readiness, etcd health, and the leader
    lease in force with the write stall a node crash would cause now."""
    from aloft.cluster import doctor
    from aloft.cluster.control import Cluster
    from aloft.cluster.status import table

    try:
        cluster_handle = Cluster.load(directory)
        snapshot = cluster_handle.snapshot()
        facts = doctor.gather(cluster_handle)
    except ClusterError as exc:
        _fail(str(exc))
    lease = doctor.lease_in_force(facts)
    if as_json:
        click.echo(json.dumps({**snapshot.as_dict(), "lease": lease}, indent=2))
        return
    from rich.console import Console

    # Piped output gets a width that fits the table rather than rich's default of 80.
    console = Console() if sys.stdout.isatty() else Console(width=120)
    console.print(table(snapshot))
    problems = snapshot.problems()
    if problems:
        console.print(f"[bold red]not healthy:[/] {'; '.join(problems)}")
    else:
        console.print(
            f"[bold green]healthy[/]: leader {snapshot.leader}, clients use {snapshot.url}"
        )
    console.print(doctor.lease_text(lease))
    line = doctor.summary(doctor.evaluate(facts))
    colour = "green" if line == "failover ready" else "red"
    console.print(f"[bold {colour}]{line}[/] (details: aloft cluster doctor --dir {directory})")


@cluster.command("doctor")
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a list.")
def doctor_command(directory: Path, as_json: bool) -> None:
    """Would a failover work right now? Each check with ✓/✗, what was measured, and what to
    do. Exit status 0 when every check passes, 1 otherwise."""
    from aloft.cluster import doctor
    from aloft.cluster.control import Cluster

    try:
        facts = doctor.gather(Cluster.load(directory))
    except ClusterError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_os_error(exc))
    checks = doctor.evaluate(facts)
    if as_json:
        click.echo(json.dumps(doctor.report(facts), indent=2))
    else:
        from rich.console import Console

        console = Console() if sys.stdout.isatty() else Console(width=120)
        for check in checks:
            mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
            console.print(f"{mark} {check.name}: {check.value}", highlight=False)
            if not check.ok:
                console.print(f"    [yellow]→ {check.advice}[/]", highlight=False)
        console.print(doctor.summary(checks), highlight=False)
    sys.exit(0 if all(c.ok for c in checks) else 1)


@cluster.command("down")
@DIR_OPTION
@click.option("--purge", is_flag=True, help="Also delete the cluster directory (all data).")
def down_command(directory: Path, purge: bool) -> None:
    """Stop everything the cluster runs, leaving no process behind."""
    from aloft.cluster import lifecycle

    try:
        survivors = lifecycle.down(directory, purge, _RichReporter())
    except ClusterError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_os_error(exc))
    if survivors:
        pids = ", ".join(f"{p.name} {p.pid}" for p in survivors)
        _fail(f"processes survived SIGKILL: {pids}")
    click.echo(
        f"cluster in {directory.absolute()} is down; no process left"
        + ("; data removed" if purge else "")
    )


@cluster.command("switchover")
@DIR_OPTION
def switchover_command(directory: Path) -> None:
    """Planned switchover: the synchronous standby becomes the leader."""
    from aloft.cluster.control import Cluster

    try:
        handle = Cluster.load(directory)
        old = handle.leader()
        started = time.monotonic()
        new = handle.switchover()
        click.echo(
            f"switched over from zone {old} to zone {new} in {time.monotonic() - started:.1f} s"
        )
        handle.wait_healthy(60)
    except ClusterError as exc:
        _fail(str(exc))
    click.echo(
        f"healthy again {time.monotonic() - started:.1f} s after the request "
        f"(zone {old} follows zone {new})"
    )


@cluster.command("heal")
@DIR_OPTION
def heal_command(directory: Path) -> None:
    """Remove every network fault (drop rules, delay lines) from every zone: what a drill
    leaves behind if it is killed before it can mend its fault."""
    from aloft.cluster import network
    from aloft.cluster.control import Cluster

    try:
        handle = Cluster.load(directory)
        before = {z.name: network.faults(handle.topology, z) for z in handle.topology.zones}
        handle.heal()
    except ClusterError as exc:
        _fail(str(exc))
    healed = [f"zone {zone}: {', '.join(found)}" for zone, found in before.items() if found]
    click.echo("removed " + "; ".join(healed) if healed else "no network fault was in place")
