"""Real PostgreSQL 15 servers we own: initdb + pg_ctl into a directory of our choosing.

Used by the tests (tests/pg.py) and by `aloft bench`. PostgreSQL refuses to run as root, so
when we run as root every server command runs as an unprivileged user (`postgres` if the
system has it, else one we create). Servers listen on 127.0.0.1 and on a Unix socket inside
their own directory; the directory must be reachable by that user (not under /root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(os.environ.get("ALOFT_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "aloft"


def available() -> str | None:
    """None if we can run PostgreSQL here, else why not."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL binaries in {BIN} (install postgresql-15 or set ALOFT_PG_BIN)"
    return None


def run_as() -> str | None:
    """The unprivileged user servers run as when we are root (None: ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "aloft-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "aloft-pg"], capture_output=True, text=True
    )
    if made.returncode != 0:
        # Another process (a second test worker) may have made it a moment before us.
        try:
            pwd.getpwnam("aloft-pg")
        except KeyError:
            raise RuntimeError(f"useradd aloft-pg failed: {made.stderr.strip()}") from None
    return "aloft-pg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """One PostgreSQL instance we own: start, stop (any mode), promote, and SQL."""

    datadir: Path
    port: int
    user: str | None

    @property
    def log(self) -> Path:
        return self.datadir.parent / f"{self.datadir.name}.log"

    def _cmd(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = list(args)
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)

    @classmethod
    def create(
        cls,
        root: Path,
        name: str = "primary",
        port: int | None = None,
        durable: bool = False,
        settings: dict[str, str] | None = None,
    ) -> PostgresServer:
        """initdb a new server in root/name (not started). Test servers run with fsync off
        (speed over the machine's own crash safety); `durable` keeps PostgreSQL's defaults,
        as a benchmark that compares engines must. `settings` override postgresql.conf."""
        user = run_as()
        root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            shutil.chown(root, user)
            root.chmod(0o755)
        server = cls(root / name, port or free_port(), user)
        server._cmd(
            str(BIN / "initdb"),
            "-D",
            str(server.datadir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--data-checksums",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        server.configure(
            listen_addresses="'127.0.0.1'",
            unix_socket_directories=f"'{root}'",
            wal_level="replica",
            max_wal_senders="10",
            hot_standby="on",
            shared_buffers="32MB",
            max_connections="100",
        )
        if not durable:
            server.configure(fsync="off")
        if settings:
            server.configure(**settings)
        with (server.datadir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        return server

    def configure(self, **settings: str) -> None:
        with (self.datadir / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def start(self) -> None:
        """Start the server and return once it accepts connections.

        A start right after an immediate stop failed once in a clean-clone `make test` run
        (inside a timer thread, with no log left to say why), so a failed start is retried
        once; a second failure raises with pg_ctl's output and the end of the server log."""
        for attempt in (1, 2):
            result = self._cmd(
                str(BIN / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if result.returncode == 0 or self.accepts_connections():
                return
            if attempt == 1:
                time.sleep(1.0)
        log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(
            f"pg_ctl start failed for {self.datadir}: {result.stdout}{result.stderr}\n{log}"
        )

    def accepts_connections(self) -> bool:
        ready = self._cmd(
            str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), check=False
        )
        return ready.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        self._cmd(
            str(BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False
        )

    def promote(self) -> None:
        self._cmd(str(BIN / "pg_ctl"), "-D", str(self.datadir), "-w", "promote")

    def standby(self, root: Path, name: str = "standby") -> PostgresServer:
        """A streaming replica of this server (pg_basebackup -R), not yet started."""
        replica = PostgresServer(root / name, free_port(), self.user)
        self._cmd(
            str(BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-D",
            str(replica.datadir),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
        )
        return replica

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = self._cmd(
            str(BIN / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            db,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        )
        return out.stdout.strip()

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{db}?connect_timeout=2"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                self._cmd(
                    str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), check=False
                ).returncode
                == 0
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on {self.port} not ready: {self.log.read_text()[-2000:]}")


def temp_root() -> Path:
    """A directory the unprivileged server user can reach (not under /root)."""
    return Path(tempfile.mkdtemp(prefix="aloft-pg-", dir="/tmp"))
