"""supervisord, one per cluster directory: start it, and start, stop and signal its programs
through its XML-RPC interface on a Unix socket (what supervisorctl uses too).

Each call opens its own connection, so a `Supervisor` may be used from several threads.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import xmlrpc.client
from typing import Any

from supervisor.xmlrpc import Faults, SupervisorTransport

from aloft.cluster.errors import ClusterError
from aloft.cluster.host import alive
from aloft.cluster.topology import MARKER, Topology

RUNNING = "RUNNING"
STARTING = "STARTING"
STOPPING = "STOPPING"
_FAILED = ("EXITED", "FATAL", "BACKOFF")


class Supervisor:
    """The supervisord of one cluster directory."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.socket = topology.supervisor_socket

    def _rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._rpc(), method)(*args)
        except PermissionError:
            raise ClusterError(f"cannot reach supervisord at {self.socket}: run as root") from None
        except OSError:
            root = self.topology.root
            raise ClusterError(
                f"the cluster in {root} is not running (its supervisord does not answer): "
                f"start it with `aloft cluster up --dir {root}`"
            ) from None

    # -- supervisord itself -----------------------------------------------------------------

    def pid(self) -> int | None:
        """supervisord's pid, if it runs and answers."""
        try:
            pid = int(self._rpc().getPID())
        except (OSError, xmlrpc.client.Error):
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def launch(self, timeout: float = 15.0) -> None:
        """Start supervisord (it daemonizes) with a clean environment, and wait for it."""
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/"),
            MARKER: str(self.topology.root),
        }
        argv = [
            str(self.topology.python),
            "-m",
            "supervisor.supervisord",
            "-c",
            str(self.topology.supervisord_conf),
        ]
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, cwd=self.topology.root, timeout=30
        )
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ClusterError(f"supervisord did not start: {last[0]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(0.1)
        raise ClusterError(
            f"supervisord did not answer on {self.socket} within {timeout:.0f} s; "
            f"see {self.topology.log_dir / 'supervisord.log'}"
        )

    def shutdown(self, timeout: float = 120.0) -> None:
        """Stop every program (highest priority first) and supervisord itself."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(OSError, xmlrpc.client.Error):
            self._rpc().shutdown()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)

    # -- programs -------------------------------------------------------------------------

    def info(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._call("getProcessInfo", name))
        except xmlrpc.client.Fault as fault:
            raise ClusterError(f"supervisord has no program {name}: {fault.faultString}") from None

    def states(self) -> dict[str, dict[str, Any]]:
        """Every program's state, by name ({'statename': 'RUNNING', 'pid': …, …})."""
        return {p["name"]: dict(p) for p in self._call("getAllProcessInfo")}

    def start(self, name: str) -> None:
        """Start a program and wait until supervisord counts it as started (its startsecs);
        a program that is already running is left alone."""
        try:
            self._call("startProcess", name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == Faults.ALREADY_STARTED:
                return
            tail = self.log_tail(name)
            raise ClusterError(f"{name} did not start ({fault.faultString}){tail}") from None

    def start_all(self, names: list[str], timeout: float = 60.0) -> None:
        """Start several programs at once and wait until each counts as started; ClusterError
        naming the first that exits instead, with the last line of its log."""
        for name in names:
            try:
                self._call("startProcess", name, False)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != Faults.ALREADY_STARTED:
                    raise ClusterError(f"{name} did not start ({fault.faultString})") from None
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            for name in names:
                if states[name]["statename"] in _FAILED:
                    raise ClusterError(f"{name} exited at start{self.log_tail(name)}")
            if all(states[name]["statename"] == RUNNING for name in names):
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"{', '.join(names)} not started within {timeout:.0f} s")
            time.sleep(0.1)

    def stop_all(self, names: list[str], timeout: float = 90.0) -> None:
        """Stop several programs at once (each SIGTERM, SIGKILL after its stopwaitsecs)."""
        for name in names:
            try:
                self._call("stopProcess", name, False)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != Faults.NOT_RUNNING:
                    raise ClusterError(f"cannot stop {name}: {fault.faultString}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if all(states[n]["statename"] not in (RUNNING, STARTING, STOPPING) for n in names):
                return
            time.sleep(0.1)
        raise ClusterError(f"{', '.join(names)} still running {timeout:.0f} s after stop")

    def stop(self, name: str) -> None:
        """Stop a program (SIGTERM, then SIGKILL after its stopwaitsecs); waits."""
        try:
            self._call("stopProcess", name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == Faults.NOT_RUNNING:
                return
            raise ClusterError(f"cannot stop {name}: {fault.faultString}") from None

    def signal(self, name: str, signame: str) -> None:
        """Send a signal (e.g. 'KILL', 'STOP', 'CONT') to a running program."""
        try:
            self._call("signalProcess", name, signame)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == Faults.NOT_RUNNING:
                raise ClusterError(f"{name} is not running") from None
            raise ClusterError(f"cannot signal {name}: {fault.faultString}") from None

    def wait_stopped(self, name: str, timeout: float = 10.0) -> None:
        """Wait until supervisord has seen the program exit (after a kill)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.info(name)["statename"] not in (RUNNING, STARTING, STOPPING):
                return
            time.sleep(0.05)
        raise ClusterError(f"{name} is still running {timeout:.0f} s after it was signalled")

    def log_tail(self, name: str) -> str:
        path = self.topology.log(name)
        try:
            lines = [line for line in path.read_text(errors="replace").splitlines() if line]
        except OSError:
            return ""
        return f": {lines[-1].strip()[:300]} (see {path})" if lines else f" (see {path})"
