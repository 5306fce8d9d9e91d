"""The zones' network on one machine: a bridge, one network namespace per zone, and the
fault rules drills put inside those namespaces (root only; see topology.py for addresses).

    machine's namespace                     zone a's namespace "aloft-a"
    aloft0 (bridge, 10.213.0.1) ── aloft-a-br ═══ veth ═══ eth0 (10.213.0.11)
                                ── aloft-b-br ═══ …       zone b: eth0 (10.213.0.12)

HAProxy and every observer (`aloft cluster status`, the drill) live in the machine's own
namespace and reach the zones through the bridge. Everything a zone runs (etcd, Patroni and
PostgreSQL, the app) runs inside its namespace (render.py wraps each command with nsenter).

Faults are nftables rules in one table, `inet aloft_fault`, inside the zone's namespace: so
they vanish with the namespace, never touch the machine's own ruleset, and `heal` is one
`delete table`. Contract for every function: it either does what it says or raises a
ClusterError with one line saying what failed; creating and destroying are safe to repeat.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from aloft.cluster.errors import ClusterError
from aloft.cluster.topology import (
    BRIDGE,
    BRIDGE_ADDRESS,
    MARKER,
    NETNS,
    ZONE_INTERFACE,
    Topology,
    Zone,
)

FAULT_TABLE = "aloft_fault"
NETNS_DIR = Path("/run/netns")
_SYS_NET = Path("/sys/class/net")


def _run(argv: list[str], what: str, stdin: str | None = None) -> str:
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise ClusterError(
            f"{argv[0]} is missing: install iproute2 and nftables "
            "(`apt-get install iproute2 nftables`, or `make system`)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"cannot {what}: `{' '.join(argv[:4])}` did not finish in 30 s"
        ) from None
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ClusterError(f"cannot {what}: {reason[0]}")
    return result.stdout


def _link_exists(name: str) -> bool:
    return (_SYS_NET / name).exists()


def _owner(name: str) -> str:
    """The cluster directory written into a link's alias when we made it ('' if none)."""
    try:
        return (_SYS_NET / name / "ifalias").read_text().strip()
    except OSError:
        return ""


def namespaces() -> list[str]:
    """The names of every network namespace `ip netns` knows."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except OSError:
        return []


# -- making and removing the network ---------------------------------------------------------


def create(topology: Topology) -> None:
    """Create the bridge, each zone's namespace and veth pair, and bring them up. Parts that
    exist already (a cluster being started again) are kept. ClusterError if the bridge
    belongs to another cluster directory."""
    if topology.network != NETNS:
        return
    owner = _owner(BRIDGE) if _link_exists(BRIDGE) else None
    if owner is not None and owner != str(topology.root):
        raise ClusterError(
            f"the bridge {BRIDGE} belongs to the cluster in {owner or 'an unknown directory'}: "
            f"stop it first (`aloft cluster down --dir {owner or 'DIR'}`), "
            f"or remove it with `ip link del {BRIDGE}`"
        )
    if owner is None:
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"], f"create the bridge {BRIDGE}")
        _run(["ip", "link", "set", BRIDGE, "alias", str(topology.root)], "label the bridge")
        _run(["ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE], "address the bridge")
    _run(["ip", "link", "set", BRIDGE, "up"], f"bring {BRIDGE} up")
    existing = set(namespaces())
    for zone in topology.zones:
        _create_zone(zone, zone.netns in existing)
    _offloads_off(topology)


def _offloads_off(topology: Topology) -> bool:
    """Turn segmentation and checksum offload off on every interface of the network, so
    that every frame crossing it is a real, finished frame of at most the MTU: what the delay
    line needs (see delayline.py). False when ethtool is missing (then no delay line)."""
    if shutil.which("ethtool") is None:
        return False
    features = ["tx", "off", "tso", "off", "gso", "off", "gro", "off"]
    commands = [["ethtool", "-K", BRIDGE, *features]]
    for zone in topology.zones:
        assert zone.netns is not None
        commands.append(["ethtool", "-K", zone.veth, *features])
        commands.append(
            ["ip", "netns", "exec", zone.netns, "ethtool", "-K", ZONE_INTERFACE, *features]
        )
    for argv in commands:
        # Some features cannot be changed on some kernels; what can be is enough.
        subprocess.run(argv, capture_output=True, timeout=30)
    return True


def _create_zone(zone: Zone, namespace_exists: bool) -> None:
    assert zone.netns is not None
    ns = zone.netns
    if not namespace_exists:
        _run(["ip", "netns", "add", ns], f"create the network namespace {ns}")
    if not _link_exists(zone.veth):
        _run(
            [
                "ip",
                "link",
                "add",
                zone.veth,
                "type",
                "veth",
                "peer",
                "name",
                ZONE_INTERFACE,
                "netns",
                ns,
            ],
            f"create zone {zone.name}'s link",
        )
        _run(
            ["ip", "-n", ns, "addr", "add", f"{zone.address}/24", "dev", ZONE_INTERFACE],
            f"address zone {zone.name}",
        )
    _run(["ip", "link", "set", zone.veth, "master", BRIDGE, "up"], f"attach zone {zone.name}")
    _run(["ip", "-n", ns, "link", "set", "lo", "up"], f"bring zone {zone.name}'s lo up")
    _run(["ip", "-n", ns, "link", "set", ZONE_INTERFACE, "up"], f"bring zone {zone.name} up")


def destroy(topology: Topology) -> None:
    """Remove every namespace, link and rule `create` and the faults made (deleting a
    namespace deletes its veth pair and its nftables rules with it). Leaves alone a bridge
    that belongs to another cluster directory."""
    if topology.network != NETNS:
        return
    existing = set(namespaces())
    for zone in topology.zones:
        if zone.netns in existing:
            _run(["ip", "netns", "del", zone.netns], f"remove the namespace {zone.netns}")
    # The kernel removes a veth pair with its namespace, but not always before `ip netns del`
    # returns: delete what is still there, and accept that it may vanish meanwhile.
    for zone in topology.zones:
        for name in (zone.veth, *_delay_links(zone)):
            if _link_exists(name):
                subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=30)
    if _link_exists(BRIDGE) and _owner(BRIDGE) in ("", str(topology.root)):
        _run(["ip", "link", "del", BRIDGE], f"remove the bridge {BRIDGE}")
    deadline = time.monotonic() + 5
    while leftovers(topology) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = leftovers(topology)
    if left:
        raise ClusterError(f"could not remove {', '.join(left)}: remove them with `ip` by hand")


def leftovers(topology: Topology) -> list[str]:
    """What of this cluster's network still exists (empty after `destroy`)."""
    if topology.network != NETNS:
        return []
    found = [f"namespace {z.netns}" for z in topology.zones if z.netns in set(namespaces())]
    found += [
        f"link {name}"
        for z in topology.zones
        for name in (z.veth, *_delay_links(z))
        if _link_exists(name)
    ]
    if _link_exists(BRIDGE) and _owner(BRIDGE) == str(topology.root):
        found.append(f"bridge {BRIDGE}")
    return found


def missing(topology: Topology) -> list[str]:
    """What of the network a running cluster needs is not there (empty when all is)."""
    if topology.network != NETNS:
        return []
    out = [] if _link_exists(BRIDGE) else [f"bridge {BRIDGE}"]
    present = set(namespaces())
    out += [f"namespace {z.netns}" for z in topology.zones if z.netns not in present]
    return out


# -- fault rules -------------------------------------------------------------------------------


def _require_netns(topology: Topology, what: str) -> None:
    if topology.network != NETNS:
        raise ClusterError(
            f"{what} needs zones with their own network namespaces; this cluster uses "
            "loopback addresses (it was made without root): `aloft cluster down --purge`, "
            "then `aloft cluster up` as root"
        )


def _addresses(zones: Iterable[Zone]) -> str:
    return "{ " + ", ".join(z.address for z in zones) + " }"


def block(
    topology: Topology,
    zone: Zone,
    inbound: Iterable[str] = (),
    outbound: Iterable[str] = (),
) -> None:
    """Install nftables rules in `zone`'s namespace: `inbound` rules go in its input chain,
    `outbound` ones in its output chain, each a match expression whose packets are dropped
    (e.g. 'ip saddr { 10.213.0.12 }'). Replaces whatever rules the zone had."""
    _require_netns(topology, "a network fault")
    assert zone.netns is not None
    lines = [f"table inet {FAULT_TABLE} {{"]
    for chain, hook, exprs in (("input", "input", inbound), ("output", "output", outbound)):
        lines.append(f"  chain {chain} {{")
        lines.append(f"    type filter hook {hook} priority filter; policy accept;")
        lines += [f"    {expr} drop" for expr in exprs]
        lines.append("  }")
    lines.append("}")
    heal(topology, zone)
    _run(
        ["ip", "netns", "exec", zone.netns, "nft", "-f", "-"],
        f"install fault rules in zone {zone.name}",
        stdin="\n".join(lines) + "\n",
    )


def slow(
    topology: Topology, zone: Zone, delay_ms: float, loss_percent: float, jitter_ms: float = 0.0
) -> list[str]:
    """Delay and loss on the zone's link: every frame, either way, is held `delay_ms` (± up
    to `jitter_ms`, in order) and `loss_percent` of them are dropped. Done by a delay line
    (delayline.py) spliced into the zone's link, because this machine's kernel has no tc
    netem. Returns notes about what could not be done; `heal` takes the delay line out."""
    _require_netns(topology, "a network fault")
    assert zone.netns is not None
    if not _offloads_off(topology):
        # Without ethtool the delay line would see oversized frames: fall back to loss only,
        # which an nftables rule can do.
        expr = f"numgen random mod 10000 < {round(loss_percent * 100)}"
        inbound, outbound = everything_off_link()
        block(topology, zone, [f"{inbound[0]} {expr}"], [f"{outbound[0]} {expr}"])
        return ["no delay added: ethtool is missing (apt-get install ethtool); loss only"]
    heal(topology, zone)
    inner, outer = _delay_links(zone)
    _run(["ip", "link", "add", inner, "type", "veth", "peer", "name", outer], "make a delay link")
    for name in (inner, outer):
        subprocess.run(
            ["ethtool", "-K", name, "tx", "off", "tso", "off", "gso", "off", "gro", "off"],
            capture_output=True,
            timeout=30,
        )
    _run(["ip", "link", "set", inner, "up"], "bring the delay link up")
    # From here the zone is off the bridge until the delay line forwards its frames.
    _run(["ip", "link", "set", zone.veth, "nomaster"], f"take zone {zone.name} off the bridge")
    _run(["ip", "link", "set", outer, "master", BRIDGE, "up"], "attach the delay link")
    env = {**os.environ, MARKER: str(topology.root)}
    log = (topology.log_dir / f"delayline-{zone.name}.log").open("ab")
    process = subprocess.Popen(
        [
            str(topology.python),
            "-m",
            "aloft.cluster.delayline",
            zone.veth,
            inner,
            str(delay_ms),
            str(loss_percent),
            str(jitter_ms),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    log.close()
    _delay_pidfile(topology, zone).write_text(f"{process.pid}\n")
    time.sleep(0.3)
    if process.poll() is not None:
        heal(topology, zone)
        raise ClusterError(
            f"the delay line for zone {zone.name} exited at once; see "
            f"{topology.log_dir / f'delayline-{zone.name}.log'}"
        )
    return []


def _delay_links(zone: Zone) -> tuple[str, str]:
    """The delay line's veth pair: the end it writes to, and the end on the bridge."""
    return f"aloft-{zone.name}-dl", f"aloft-{zone.name}-dr"


def _delay_pidfile(topology: Topology, zone: Zone) -> Path:
    return topology.run_dir / f"delayline-{zone.name}.pid"


def _clear_delay(topology: Topology, zone: Zone) -> None:
    """Stop the zone's delay line, if any, and put the zone back on the bridge."""
    pidfile = _delay_pidfile(topology, zone)
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        pid = None
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        pidfile.unlink(missing_ok=True)
    inner, _outer = _delay_links(zone)
    if _link_exists(inner):
        subprocess.run(["ip", "link", "del", inner], capture_output=True, timeout=30)
    if _link_exists(zone.veth) and not (_SYS_NET / zone.veth / "master").exists():
        _run(["ip", "link", "set", zone.veth, "master", BRIDGE], f"put zone {zone.name} back")


def heal(topology: Topology, zone: Zone) -> None:
    """Remove every fault rule and delay from `zone`'s namespace (nothing to do when it has
    none)."""
    if topology.network != NETNS or zone.netns not in set(namespaces()):
        return
    _clear_delay(topology, zone)
    listing = _run(
        ["ip", "netns", "exec", zone.netns, "nft", "list", "tables"],
        f"list zone {zone.name}'s rules",
    )
    if f"inet {FAULT_TABLE}" in listing:
        _run(
            ["ip", "netns", "exec", zone.netns, "nft", "delete", "table", "inet", FAULT_TABLE],
            f"remove zone {zone.name}'s fault rules",
        )


def rules(topology: Topology, zone: Zone) -> str:
    """The zone's fault rules as nftables prints them ('' when it has none)."""
    if topology.network != NETNS or zone.netns not in set(namespaces()):
        return ""
    listing = _run(
        ["ip", "netns", "exec", zone.netns, "nft", "list", "tables"],
        f"list zone {zone.name}'s rules",
    )
    if f"inet {FAULT_TABLE}" not in listing:
        return ""
    return _run(
        ["ip", "netns", "exec", zone.netns, "nft", "list", "table", "inet", FAULT_TABLE],
        f"list zone {zone.name}'s rules",
    )


def faults(topology: Topology, zone: Zone) -> list[str]:
    """The network faults in place in the zone, in words (empty: none)."""
    if topology.network != NETNS:
        return []
    found = []
    if rules(topology, zone):
        found.append("packets dropped by fault rules")
    if _delay_pidfile(topology, zone).exists() or _link_exists(_delay_links(zone)[0]):
        found.append("link slowed by a delay line")
    return found


# Match expressions for the shapes of partition the drills use.


def from_and_to(zones: Iterable[Zone]) -> tuple[list[str], list[str]]:
    """Inbound and outbound expressions that cut traffic with `zones` both ways."""
    chosen = list(zones)
    if not chosen:
        return [], []
    return [f"ip saddr {_addresses(chosen)}"], [f"ip daddr {_addresses(chosen)}"]


def everything_off_link() -> tuple[list[str], list[str]]:
    """Inbound and outbound expressions that cut the zone's link: every peer, HAProxy and
    every observer on the machine."""
    return [f'iifname "{ZONE_INTERFACE}"'], [f'oifname "{ZONE_INTERFACE}"']


def ports_with(zones: Iterable[Zone], ports: Iterable[int]) -> tuple[list[str], list[str]]:
    """Inbound and outbound expressions that cut TCP to or from `ports` with `zones`, both
    as client and as server."""
    chosen = list(zones)
    if not chosen:
        return [], []
    plist = "{ " + ", ".join(str(p) for p in ports) + " }"
    where = _addresses(chosen)
    inbound = [f"ip saddr {where} tcp dport {plist}", f"ip saddr {where} tcp sport {plist}"]
    outbound = [f"ip daddr {where} tcp dport {plist}", f"ip daddr {where} tcp sport {plist}"]
    return inbound, outbound
