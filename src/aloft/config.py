"""One Settings object, read once from ALOFT_* environment variables and passed down.

Every setting is listed in `Settings` with its default; README.md documents them all and
`tests/test_config.py` checks that it does. A bad value raises `SettingsError` with one
line that names the variable and what it accepts.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on", "open"}:
        return True
    if value in {"0", "false", "no", "off", "closed"}:
        return False
    raise SettingsError(f"{name}={raw!r}: expected on/off (or true/false, 1/0)")


def _seconds(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r}: expected {low:g} to {high:g} seconds")
    return value


def _addresses(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (CIDR), each checked."""
    out = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r}: {item!r} is not an IP address or network (CIDR)"
            ) from None
        out.append(item)
    return tuple(out)


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw!r}: expected a number from {low} to {high}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field metadata `env` names the environment variable."""

    data_dir: Path = field(default=Path("data"), metadata={"env": "ALOFT_DATA_DIR"})
    database_url: str = field(default="", metadata={"env": "ALOFT_DATABASE_URL"})
    host: str = field(default="127.0.0.1", metadata={"env": "ALOFT_HOST"})
    port: int = field(default=8080, metadata={"env": "ALOFT_PORT"})
    workers: int = field(default=1, metadata={"env": "ALOFT_WORKERS"})
    # Reading handlers (GET, HEAD) running at once in each worker process: each holds the
    # GIL while it builds a page, so more threads only take turns on it, and the turns
    # cost (issue 11: a home page at 16 connections, 2 workers: 8 threads 716 and 293 req/s,
    # 3 threads 1,080 and 1,083).
    threads: int = field(default=3, metadata={"env": "ALOFT_THREADS"})
    # Writing handlers (every other method) running at once in each worker, in a pool of
    # their own: a write waits out a failover (seconds), and reads must not queue behind it.
    write_threads: int = field(default=8, metadata={"env": "ALOFT_WRITE_THREADS"})
    base_url: str = field(default="", metadata={"env": "ALOFT_BASE_URL"})
    instance_title: str = field(default="Aloft", metadata={"env": "ALOFT_INSTANCE_TITLE"})
    instance_description: str = field(
        default="A microblogging server that does not go down.",
        metadata={"env": "ALOFT_INSTANCE_DESCRIPTION"},
    )
    contact_email: str = field(default="", metadata={"env": "ALOFT_CONTACT_EMAIL"})
    registrations: bool = field(default=True, metadata={"env": "ALOFT_REGISTRATIONS"})
    rate_limits: bool = field(default=True, metadata={"env": "ALOFT_RATE_LIMITS"})
    max_body_bytes: int = field(default=1_048_576, metadata={"env": "ALOFT_MAX_BODY_BYTES"})
    log_level: str = field(default="info", metadata={"env": "ALOFT_LOG_LEVEL"})
    database_reads: str = field(default="primary", metadata={"env": "ALOFT_DATABASE_READS"})
    db_attempt_timeout: float = field(default=3.0, metadata={"env": "ALOFT_DB_ATTEMPT_TIMEOUT"})
    db_write_deadline: float = field(default=45.0, metadata={"env": "ALOFT_DB_WRITE_DEADLINE"})
    db_read_deadline: float = field(default=15.0, metadata={"env": "ALOFT_DB_READ_DEADLINE"})
    read_your_writes_seconds: float = field(
        default=10.0, metadata={"env": "ALOFT_READ_YOUR_WRITES_SECONDS"}
    )
    # Drills: name the database server each write committed on in a response header.
    drill_headers: bool = field(default=False, metadata={"env": "ALOFT_DRILL_HEADERS"})
    # Peers whose X-Forwarded-For/-Proto we believe (a load balancer in front of us). Empty:
    # none, so nobody can choose the address their rate limits are counted under.
    trusted_proxies: tuple[str, ...] = field(default=(), metadata={"env": "ALOFT_TRUSTED_PROXIES"})
    # The bearer token /metrics asks for. Empty: /metrics is served only to a direct
    # connection from a loopback address (see aloft.api.health).
    metrics_token: str = field(default="", metadata={"env": "ALOFT_METRICS_TOKEN"})
    # The local cluster's directory (`aloft cluster up --dir`), whose status, doctor's checks
    # and newest drill matrix the admin page shows. The cluster's supervisord sets it for
    # every program it starts, the apps included. Empty: a single node.
    cluster_dir: str = field(default="", metadata={"env": "ALOFT_CLUSTER_DIR"})
    # Where `aloft drill matrix --out` writes. Empty: `runs` beside the cluster directory
    # (where the commands' defaults put them when run from one folder, as `make cluster`).
    drill_reports_dir: str = field(default="", metadata={"env": "ALOFT_DRILL_REPORTS_DIR"})

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy URL: ALOFT_DATABASE_URL, else SQLite at DATA_DIR/aloft.db."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'aloft.db').resolve()}"

    @property
    def effective_base_url(self) -> str:
        """Public URL of this server, used in links, `uri` fields and Link headers."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def domain(self) -> str:
        """The host part of the base URL: what `acct` URIs and the instance report."""
        return self.effective_base_url.split("://", 1)[-1].split("/", 1)[0]

    @property
    def cluster_path(self) -> Path | None:
        """The cluster directory, or None on a single node."""
        return Path(self.cluster_dir) if self.cluster_dir else None

    @property
    def drill_reports_path(self) -> Path | None:
        """Where drill matrices are looked for: ALOFT_DRILL_REPORTS_DIR, else `runs` beside
        the cluster directory; None on a single node without the setting."""
        if self.drill_reports_dir:
            return Path(self.drill_reports_dir)
        cluster = self.cluster_path
        return cluster.absolute().parent / "runs" if cluster is not None else None

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def env_names() -> list[str]:
    """Every ALOFT_* variable Settings reads, in declaration order."""
    return [f.metadata["env"] for f in fields(Settings)]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read Settings from the environment; raise SettingsError on the first bad value."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = f.metadata["env"]
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        if f.name == "data_dir":
            values[f.name] = Path(raw)
        elif f.name in {"registrations", "rate_limits", "drill_headers"}:
            values[f.name] = _bool(name, raw)
        elif f.name == "port":
            values[f.name] = _int(name, raw, 1, 65535)
        elif f.name == "workers":
            values[f.name] = _int(name, raw, 1, 64)
        elif f.name in {"threads", "write_threads"}:
            values[f.name] = _int(name, raw, 1, 256)
        elif f.name == "max_body_bytes":
            values[f.name] = _int(name, raw, 1024, 1 << 30)
        elif f.name in {"db_attempt_timeout", "db_read_deadline"}:
            values[f.name] = _seconds(name, raw, 0.1, 600)
        elif f.name == "db_write_deadline":
            values[f.name] = _seconds(name, raw, 0.1, 3600)
        elif f.name == "read_your_writes_seconds":
            values[f.name] = _seconds(name, raw, 0, 3600)
        elif f.name == "trusted_proxies":
            values[f.name] = _addresses(name, raw)
        elif f.name == "database_reads":
            if raw not in {"primary", "prefer-standby"}:
                raise SettingsError(f"{name}={raw!r}: expected primary or prefer-standby")
            values[f.name] = raw
        elif f.name == "log_level":
            level = raw.lower()
            if level not in {"debug", "info", "warning", "error"}:
                raise SettingsError(f"{name}={raw!r}: expected debug, info, warning or error")
            values[f.name] = level
        elif f.name == "database_url":
            if not raw.startswith(("sqlite", "postgresql")):
                raise SettingsError(
                    f"{name}={raw!r}: expected sqlite:///PATH or postgresql+psycopg://…"
                )
            values[f.name] = raw
        elif f.name == "base_url":
            if not raw.startswith(("http://", "https://")):
                raise SettingsError(f"{name}={raw!r}: expected a URL starting with http(s)://")
            values[f.name] = raw
        else:
            values[f.name] = raw
    return Settings(**values)  # type: ignore[arg-type]
