"""A delay line: forwards Ethernet frames between two interfaces, holding each one for a
fixed time and dropping a share of them at random — what `tc netem` does, for kernels built
without it (this machine's: CONFIG_NET_SCH_NETEM is not set).

`network.slow` puts it in the middle of a zone's link: the zone's veth end in the machine's
namespace is taken off the bridge, and a new veth pair joins the bridge instead; this
program copies frames between the two loose ends, both ways:

    zone eth0 ═══ aloft-a-br  ⇄ delay line ⇄  aloft-a-dl ═══ aloft-a-dr ── bridge

Frames are read and written with raw packet sockets, so the link needs its offloads off
(no segmentation or checksum offload: network.create does that), or the sockets would see
frames larger than the MTU and checksums not yet filled in.

Run as `python -m aloft.cluster.delayline IFACE_A IFACE_B DELAY_MS LOSS_PERCENT [JITTER_MS]`;
it runs until SIGTERM or SIGINT. With a jitter each frame is held DELAY_MS ± up to JITTER_MS
(uniformly), but never sent before the frame read ahead of it: the link stays in order.
"""

from __future__ import annotations

import collections
import contextlib
import random
import signal
import socket
import sys
import threading
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # the pkttype of frames this host sent: not ours to forward
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
FRAME_MAX = 65536


def _open(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    # Older kernels lack this option: the pkttype check in `receive` does the same.
    with contextlib.suppress(OSError):
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    return sock


class Direction:
    """Frames read from `source`, written to `target` `delay` (± `jitter`) seconds later, in
    the order they came (FIFO)."""

    def __init__(
        self,
        source: socket.socket,
        target: socket.socket,
        delay: float,
        loss: float,
        jitter: float = 0.0,
    ) -> None:
        self.source, self.target, self.delay, self.loss = source, target, delay, loss
        self.jitter = jitter
        self.last_due = 0.0
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.ready = threading.Condition()
        self.random = random.Random()

    def receive(self) -> None:
        while True:
            frame, address = self.source.recvfrom(FRAME_MAX)
            if address[2] == PACKET_OUTGOING or self.random.random() < self.loss:
                continue
            hold = self.delay + self.random.uniform(-self.jitter, self.jitter)
            with self.ready:
                due = max(time.monotonic() + max(hold, 0.0), self.last_due)
                self.last_due = due
                self.queue.append((due, frame))
                self.ready.notify()

    def send(self) -> None:
        while True:
            with self.ready:
                while not self.queue:
                    self.ready.wait()
                due, frame = self.queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # A frame the link refuses is a lost frame, as on a real link.
            with contextlib.suppress(OSError):
                self.target.send(frame)


def run(
    first: str, second: str, delay_ms: float, loss_percent: float, jitter_ms: float = 0.0
) -> None:
    a, b = _open(first), _open(second)
    delay, loss, jitter = delay_ms / 1000, loss_percent / 100, jitter_ms / 1000
    for direction in (Direction(a, b, delay, loss, jitter), Direction(b, a, delay, loss, jitter)):
        for work in (direction.receive, direction.send):
            threading.Thread(target=work, daemon=True).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"delay line {first} <-> {second}: {delay_ms:g} ± {jitter_ms:g} ms, "
        f"{loss_percent:g} % loss",
        flush=True,
    )
    stop.wait()


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(
            "usage: python -m aloft.cluster.delayline IFACE_A IFACE_B DELAY_MS LOSS_PERCENT "
            "[JITTER_MS]"
        )
    jitter_ms = float(sys.argv[5]) if len(sys.argv) == 6 else 0.0
    run(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), jitter_ms)
