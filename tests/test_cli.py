"""The `aloft` command: one clear line for every failure an operator can hit."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.commands import aloft
from tests.conftest import start_server, stop_server


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aloft: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_db_migrate_and_accounts_create(tmp_path: Path) -> None:
    env = {"ALOFT_DATA_DIR": str(tmp_path)}
    first = aloft("db", "migrate", env=env)
    assert first.returncode == 0 and "up to date" in first.stdout
    assert aloft("db", "migrate", env=env).returncode == 0, "migrating twice is fine"
    made = aloft(
        "accounts",
        "create",
        "root",
        "--email",
        "root@example.org",
        "--password",
        "long enough",
        "--admin",
        env=env,
    )
    assert made.returncode == 0 and "created @root" in made.stdout and "admin" in made.stdout
    again = aloft(
        "accounts",
        "create",
        "ROOT",
        "--email",
        "x@example.org",
        "--password",
        "long enough",
        env=env,
    )
    _one_line_error(again, "Username has already been taken")
    short = aloft(
        "accounts", "create", "bob", "--email", "b@example.org", "--password", "short", env=env
    )
    _one_line_error(short, "Password")
    prompted = aloft(
        "accounts",
        "create",
        "carol",
        "--email",
        "c@example.org",
        env=env,
        stdin="long enough\nlong enough\n",
    )
    assert prompted.returncode == 0, prompted.stderr


def test_bad_settings_are_named(tmp_path: Path) -> None:
    _one_line_error(aloft("db", "migrate", env={"ALOFT_PORT": "eighty"}), "ALOFT_PORT")
    _one_line_error(
        aloft("db", "migrate", env={"ALOFT_RATE_LIMITS": "sometimes"}), "ALOFT_RATE_LIMITS"
    )
    _one_line_error(
        aloft("db", "migrate", env={"ALOFT_DATABASE_URL": "mysql://x"}), "ALOFT_DATABASE_URL"
    )


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    _one_line_error(
        aloft("db", "migrate", env={"ALOFT_DATA_DIR": str(blocker / "data")}), "data directory"
    )
    if os.geteuid() != 0:  # root can write anywhere, so only the file-in-the-way case applies
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        _one_line_error(aloft("db", "migrate", env={"ALOFT_DATA_DIR": str(locked)}), "not writable")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = aloft("serve", "--port", str(port), env={"ALOFT_DATA_DIR": str(tmp_path)})
    _one_line_error(result, f"port {port}", "already in use")


def _workers(pid: int) -> list[int]:
    """The worker processes of `aloft serve` (not multiprocessing's resource tracker)."""
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _connections(pid: int, port: int) -> int:
    """How many established TCP connections to `port` process `pid` holds (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        held += local_port == port and state == "01" and inode in inodes
    return held


def test_serve_with_two_workers(tmp_path: Path) -> None:
    """Two workers answer, and connections opened together reach both (each worker listens
    on a socket of its own: with one shared socket, the worker that woke first could take
    them all)."""
    server = start_server(tmp_path / "data", {"ALOFT_WORKERS": "2"})
    port = int(server.url.rsplit(":", 1)[1])
    try:
        answers = {httpx.get(f"{server.url}/api/v1/instance").status_code for _ in range(10)}
        assert answers == {200}
        workers = _workers(server.process.pid)
        assert len(workers) == 2, workers
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            deadline = time.monotonic() + 10
            while True:
                held = [_connections(pid, port) for pid in workers]
                if sum(held) == 32 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            # Spread by a hash of each connection's addresses: fewer than 4 of 32 on one
            # worker is a chance of about 1 in 400,000.
            assert sum(held) == 32 and min(held) >= 4, held
        finally:
            for client in clients:
                client.close()
        # A worker that dies is replaced, and the server keeps answering.
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(server.process.pid)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and workers[0] not in now, now
        answers = {httpx.get(f"{server.url}/api/v1/instance").status_code for _ in range(10)}
        assert answers == {200}
    finally:
        stop_server(server)
    log = server.log.read_text()
    assert "2 workers" in log and f"worker {workers[0]} died" in log, log
