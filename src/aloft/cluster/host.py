"""The machine the cluster runs on: who we are, the service user, the binaries we need, free
ports, and the processes that belong to a cluster directory (found by scanning /proc).

Every check fails with a ClusterError whose message is one line naming what to install or
what to stop.
"""

from __future__ import annotations

import errno
import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aloft.cluster.errors import ClusterError
from aloft.cluster.topology import ETCD, HAPROXY, MARKER, PATRONI_VENV, PG_BIN, Topology

# Characters that would need quoting in supervisord.conf or libpq and are never worth it.
_BAD_PATH_CHARS = set("%\"',;=&?# \t\n\\")
_UNIX_SOCKET_MAX = 107  # sun_path, including PostgreSQL's ".s.PGSQL.5432"


def is_root() -> bool:
    return os.geteuid() == 0


def invoking_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def ensure_user(name: str) -> None:
    """Create the unprivileged system user (and its group) if it does not exist yet."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ClusterError(f"cannot create the system user {name}: {result.stderr.strip()}")


def chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def patroni_executable() -> Path:
    """Patroni from its own environment (readable by the service user), else from PATH."""
    candidate = PATRONI_VENV / "bin" / "patroni"
    if candidate.exists():
        return candidate
    from shutil import which

    found = which("patroni")
    if found and not is_root():
        return Path(found)
    raise ClusterError(
        f"Patroni is not installed in {PATRONI_VENV}: run `make patroni` (it builds that "
        "environment from /usr/bin/python3 with uv: patroni[etcd3], psycopg[binary])"
    )


def require_binaries() -> None:
    """One line naming the Debian package for the first thing that is missing."""
    needs = [
        (PG_BIN / "postgres", "postgresql-15"),
        (PG_BIN / "pg_rewind", "postgresql-15"),
        (ETCD, "etcd-server"),
        (HAPROXY, "haproxy"),
    ]
    if is_root():  # zones get network namespaces (network.py)
        needs += [
            (Path("/usr/sbin/ip"), "iproute2"),
            (Path("/usr/sbin/nft"), "nftables"),
            (Path("/usr/bin/nsenter"), "util-linux"),
            (Path("/usr/bin/setpriv"), "util-linux"),
        ]
    for path, package in needs:
        if not path.exists():
            raise ClusterError(
                f"{path} is missing: install it with `apt-get install {package}` "
                "(or run `make cluster`, which installs everything)"
            )


def check_runs_as(user: str | None, executable: Path) -> None:
    """The service user can execute `executable` (a venv under /root, for one, it cannot)."""
    argv = [str(executable), "--version"]
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"cannot run {executable}: {exc}") from None
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        who = f"user {user}" if user else "we"
        raise ClusterError(
            f"{who} cannot run {executable} ({last[0]}); rebuild it with `make patroni`"
        )


def check_path(root: Path, user: str | None) -> None:
    """The cluster directory has a plain name, short enough for sockets, and the service
    user can reach it."""
    text = str(root)
    bad = sorted(_BAD_PATH_CHARS & set(text))
    if bad:
        raise ClusterError(
            f"cluster directory {text!r} contains {''.join(bad)!r}: use a plain path"
        )
    longest = len(text) + len("/a/socket/.s.PGSQL.5432")
    if longest > _UNIX_SOCKET_MAX:
        raise ClusterError(
            f"cluster directory {text} is too long for Unix sockets ({longest} > "
            f"{_UNIX_SOCKET_MAX} characters): use a shorter path"
        )
    if user is None:
        return
    # The first directory on the way that the user cannot enter, if any.
    chain = [str(p) for p in reversed(root.parents)] + [text]
    script = 'for d; do test -x "$d" -a -r "$d" || { echo "$d"; exit 1; }; done'
    result = subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c", script, "sh", *chain],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        blocked = result.stdout.strip() or text
        raise ClusterError(
            f"user {user} cannot enter {blocked}, so it cannot reach the cluster in {text}: "
            f"`chmod o+rx {blocked}`, or pick a --dir it can reach (e.g. under /srv)"
        )


# -- ports -----------------------------------------------------------------------------------


def _listening_inode(address: str, port: int) -> str | None:
    want = f"{socket.inet_aton(address)[::-1].hex().upper()}:{port:04X}"
    any_v4 = f"00000000:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[3] == "0A" and fields[1] in (want, any_v4):
            return fields[9]
    return None


def _owner_of_inode(inode: str) -> str | None:
    target = f"socket:[{inode}]"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == target:
                    name = (entry / "comm").read_text().strip()
                    return f"{name}, pid {entry.name}"
        except OSError:
            continue
    return None


def check_ports(listeners: list[tuple[str, int]]) -> None:
    """Fail with one line on the first address:port something else already listens on."""
    for address, port in listeners:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise ClusterError(
                        f"cannot listen on {address}:{port}: {exc.strerror}"
                    ) from None
                inode = _listening_inode(address, port)
                owner = _owner_of_inode(inode) if inode else None
                by = f" by {owner}" if owner else ""
                raise ClusterError(
                    f"port {port} on {address} is already in use{by}: stop it first "
                    "(another cluster? `aloft cluster down --dir DIR`)"
                ) from None


# -- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    name: str
    cmdline: str


def _read_process(entry: Path) -> tuple[Process, bytes] | None:
    try:
        stat = (entry / "stat").read_text()
        cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            environ = b""
    except OSError:
        return None
    # The name is in parentheses and may contain spaces; the fields after it are plain.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    rest = stat[stat.rindex(")") + 2 :].split()
    if rest[0] == "Z":  # a zombie has already exited; its parent just has not reaped it
        return None
    return Process(int(entry.name), int(rest[1]), name, cmdline.strip()), environ


def cluster_processes(root: Path) -> list[Process]:
    """Every live process that belongs to the cluster in `root`: those started by its
    supervisord (they inherit ALOFT_CLUSTER_DIR=root), PostgreSQL programs whose command line
    names a path in `root` (PostgreSQL may overwrite its environment with its process title),
    and all their descendants (backends, pg_rewind, …). Nothing else that merely mentions
    the directory — an operator's `tail -f` of a log, say — is counted."""
    me = os.getpid()
    marker = f"{MARKER}={root}".encode()
    inside = f"{root}/"
    processes: dict[int, Process] = {}
    marked: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        found = _read_process(entry)
        if found is None:
            continue
        process, environ = found
        processes[process.pid] = process
        is_postgres = process.name.startswith(("postgres", "pg_", "initdb"))
        if marker in environ.split(b"\0") or (is_postgres and inside in process.cmdline):
            marked.add(process.pid)
    changed = True
    while changed:
        changed = False
        for process in processes.values():
            if process.pid not in marked and process.ppid in marked:
                marked.add(process.pid)
                changed = True
    return sorted((processes[pid] for pid in marked), key=lambda p: p.pid)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def send(pid: int, sig: int) -> bool:
    """Signal a process; False if it is already gone."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def end_processes(processes: list[Process], grace: float = 10.0) -> list[Process]:
    """Stop leftovers: PostgreSQL gets a fast shutdown (SIGINT), the others SIGTERM; what is
    still alive after `grace` seconds gets SIGKILL. Returns what survived even that."""
    for process in processes:
        is_postmaster = process.name == "postgres" and " -D " in f" {process.cmdline} "
        send(process.pid, signal.SIGINT if is_postmaster else signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p.pid) for p in processes):
        time.sleep(0.1)
    for process in processes:
        if alive(process.pid):
            send(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p.pid) for p in processes):
        time.sleep(0.1)
    return [p for p in processes if alive(p.pid)]


def postmaster_pid(topology: Topology, zone_name: str) -> int | None:
    """The running postmaster of a zone, from the first line of postmaster.pid."""
    pidfile = topology.pgdata(topology.zone(zone_name)) / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"postgres" in cmdline and alive(pid) else None


def descendants(pid: int) -> list[int]:
    """Every process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        found = _read_process(entry)
        if found is not None:
            children.setdefault(found[0].ppid, []).append(found[0].pid)
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
