"""Several worker processes on one port, each with a listening socket of its own.

uvicorn's own workers share one listening socket. A worker that wakes first takes every
connection waiting, so a client that opens its connections at once (a proxy's pool, a
load generator) could find all of them on one worker while the others idled: runs of one
build measured home at 1,040 and at 2,200 requests a second with the same CPU per request
(issue 11). Here each worker listens with SO_REUSEPORT, and the kernel spreads new
connections across the workers' sockets by their addresses.

The supervisor starts the workers, starts again one that dies, and stops them all on
SIGINT or SIGTERM. A worker that exits with an error within STARTUP_SECONDS of starting
(the app does not load, the port cannot be bound) would exit again: the supervisor then
stops, with the worker's own message in the log above.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

# uvicorn's own logger, so that its lines read as the workers' do.
log = logging.getLogger("uvicorn.error")

STARTUP_SECONDS = 10.0
STOP_SECONDS = 15.0
BACKLOG = 2048  # uvicorn's own default


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port that other workers' sockets share (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One worker: its own socket, then uvicorn's server on it until SIGTERM."""
    config = uvicorn.Config(**options)
    config.configure_logging()
    sock = listening_socket(host, port)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """`workers` processes, each serving `options` (uvicorn.Config's keywords) on its own
    socket bound to host:port."""

    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host, self.port, self.workers, self.options = host, port, workers, options
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()

    def _start(self) -> tuple[BaseProcess, float]:
        process = self._context.Process(
            target=_worker, args=(self.host, self.port, self.options), name="aloft-worker"
        )
        process.start()
        return process, time.monotonic()

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM (0), or until a worker fails to start (1)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        running = [self._start() for _ in range(self.workers)]
        failed = False
        while not self._stop.wait(0.5):
            for i, (process, started) in enumerate(running):
                if process.is_alive():
                    continue
                # A worker that exits by itself soon after it started failed to start; one
                # killed by a signal (the OOM killer, an operator) is started again.
                exited = process.exitcode is not None and process.exitcode > 0
                if exited and time.monotonic() - started < STARTUP_SECONDS:
                    log.error(
                        "a worker exited %.1f s after it started (code %s); stopping",
                        time.monotonic() - started,
                        process.exitcode,
                    )
                    failed = True
                    self._stop.set()
                    break
                log.warning(
                    "worker %s died (code %s); starting another", process.pid, process.exitcode
                )
                running[i] = self._start()
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests under way
        deadline = time.monotonic() + STOP_SECONDS
        for process, _ in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        return 1 if failed else 0


def serve(options: dict[str, Any], workers: int) -> int:
    """Serve `options` (uvicorn.Config's keywords, with host and port) with `workers`
    processes: one is uvicorn's own server; more are a Supervisor's, each on a socket of
    its own. 0 when stopped by a signal, 1 when a worker failed to start."""
    if workers == 1:
        uvicorn.run(**options)
        return 0
    uvicorn.Config(**options).configure_logging()
    return Supervisor(options["host"], options["port"], workers, options).run()
