"""The `aloft` command (also `python -m aloft`): serve, accounts, db.

Every failure an operator can hit ends in one line on stderr that says what to do, and a
non-zero exit code; never a traceback.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from aloft import __version__
from aloft.config import Settings, SettingsError, load_settings
from aloft.errors import AloftError
from aloft.storage.database import Database, DatabaseError


def fail(message: str) -> NoReturn:
    click.secho(f"aloft: {message}", fg="red", err=True)
    sys.exit(1)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(f"bad setting: {exc}")


def _prepare_schema(settings: Settings) -> None:
    """Migrate before serving. When no server takes writes right now (a replica cluster in
    the middle of a failover, or with its primary down) but a server that can be read says
    the schema is already current, serve anyway: the app holds writes until a primary is
    back, as it would had it started a minute earlier. Only a schema that needs migrating
    and cannot be migrated stops the start."""
    from sqlalchemy.exc import OperationalError

    from aloft.storage.migrate import is_current, upgrade

    try:
        db = Database.from_settings(settings)
    except DatabaseError as exc:
        fail(str(exc))
    try:
        upgrade(db.engine)
    except OperationalError as exc:
        try:
            current = db.read(is_current)
        except Exception:
            current = False
        if not current:
            fail(f"cannot open the database: {exc.orig}")
        click.secho(
            "aloft: no database server takes writes right now; the schema is current, so "
            "serving (writes wait for a primary)",
            fg="yellow",
            err=True,
        )
    finally:
        db.dispose()


def _open_database(settings: Settings, migrate: bool = True) -> Database:
    from sqlalchemy.exc import OperationalError

    from aloft.storage.migrate import upgrade

    try:
        db = Database.from_settings(settings)
        if migrate:
            upgrade(db.engine)
        return db
    except DatabaseError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"cannot open the database: {exc.orig}")


def _check_port(host: str, port: int) -> None:
    """Fail with one line if we cannot listen on host:port, before starting workers."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fail(f"port {port} on {host} is already in use; stop what uses it or pass --port")
            if exc.errno == errno.EACCES:
                fail(f"not allowed to listen on port {port}; use a port above 1023 or run as root")
            fail(f"cannot listen on {host}:{port}: {exc.strerror}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aloft")
def main() -> None:
    """Aloft: a Mastodon-compatible microblogging server."""


@main.command()
@click.option("--host", default=None, help="Address to listen on [ALOFT_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [ALOFT_PORT, 8080].")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes [ALOFT_WORKERS, 1].",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the server (migrating the database first)."""

    from aloft import supervisor
    from aloft.api.streaming import HEARTBEAT_SECONDS

    settings = _settings().with_overrides(host=host, port=port, workers=workers)
    if not 0 < settings.port < 65536:
        fail(f"bad port {settings.port}: expected 1 to 65535")
    _check_port(settings.host, settings.port)
    _prepare_schema(settings)
    # Workers are separate processes that read their settings from the environment.
    os.environ.update(
        ALOFT_HOST=settings.host, ALOFT_PORT=str(settings.port), ALOFT_WORKERS=str(settings.workers)
    )
    click.echo(
        f"Aloft {__version__} serving {settings.effective_base_url} "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''}, "
        f"database {_describe(settings)}); Ctrl+C stops it"
    )
    options: dict[str, Any] = dict(
        app="aloft.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        server_header=False,
        # WebSocket pings keep idle streams through proxies (HAProxy cuts a server that is
        # silent for 20 s) and find dead clients; see aloft.api.streaming.
        ws_ping_interval=HEARTBEAT_SECONDS,
        ws_ping_timeout=HEARTBEAT_SECONDS,
        # X-Forwarded-For is believed only from ALOFT_TRUSTED_PROXIES. uvicorn's own default
        # trusts 127.0.0.1, which let any local client pick the address its rate limits
        # count under; without a trusted proxy the socket's peer address is the client.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )
    # Several workers listen on a socket each (aloft.supervisor says why).
    if supervisor.serve(options, settings.workers):
        fail("a worker failed to start; its error is above")


def _describe(settings: Settings) -> str:
    from sqlalchemy import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite at {url.database}"
    return f"PostgreSQL at {url.render_as_string(hide_password=True)}"


@main.group()
def accounts() -> None:
    """Manage accounts."""


@accounts.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address (used to sign in).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="At least 8 characters.",
)
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def accounts_create(username: str, email: str, password: str, admin: bool) -> None:
    """Create a local account."""
    from aloft.services import accounts as account_service

    db = _open_database(_settings())
    try:
        row = _run(
            lambda: account_service.create(
                db, account_service.NewAccount(username, email, password, is_admin=admin)
            )
        )
    finally:
        db.dispose()
    click.echo(f"created @{row.username} (id {row.id}){' as admin' if admin else ''}")


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("migrate")
def db_migrate() -> None:
    """Bring the database schema up to date (safe to run again)."""
    settings = _settings()
    _open_database(settings).dispose()
    click.echo(f"database is up to date ({_describe(settings)})")


def _run(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except AloftError as exc:
        fail(exc.message)


def _add_cluster_commands() -> None:
    from aloft.cluster.commands import cluster

    main.add_command(cluster)


_add_cluster_commands()


def _add_drill_commands() -> None:
    from aloft.drill.commands import drill

    main.add_command(drill)


_add_drill_commands()


def _add_bench_commands() -> None:
    from aloft.bench.commands import bench

    main.add_command(bench)


_add_bench_commands()
