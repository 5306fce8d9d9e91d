"""Where everything in a local cluster lives: zones, their addresses and ports, and the paths
inside the cluster directory.

Every zone (a, b, c, …) is a host of its own, so it can be crashed, frozen or cut off as a
unit while every zone uses the same port numbers. Two ways to give it an address:

* `netns` (root; the default then): each zone is a Linux network namespace with one
  interface on a bridge that the cluster creates (`network.py`). Zone N has 10.213.0.(11+N)
  and the bridge, in the machine's own namespace, 10.213.0.1. Traffic between zones crosses
  the bridge with the zones' own source addresses, so a rule inside one namespace can cut
  that zone off in either direction or from one peer only. These addresses exist only on
  that bridge: nothing routes them off the machine.
* `loopback` (without root): zone N has 127.0.N.1 on the machine's loopback interface.
  Traffic between zones then leaves from 127.0.0.1, so partitions cannot be drawn; the
  drills that need them refuse to run on such a cluster.

HAProxy alone listens on 127.0.0.1 in the machine's own namespace. The layout of a cluster
directory:

    cluster.json          this topology (what `Cluster.load` reads)
    credentials.json      generated passwords, root only
    supervisord.conf      one supervisord for the whole cluster
    haproxy.cfg
    run/                  supervisord's socket and pid file
    haproxy/              HAProxy's stats socket (owned by the service user)
    logs/                 one log per program (supervisord writes them)
    a/ b/ c/              per zone, owned by the service user:
        patroni.yml
        etcd/             etcd's data
        pgdata/           PostgreSQL's data directory (Patroni creates it)
        socket/           PostgreSQL's unix_socket_directories
        pgpass            written by Patroni
        app/              the app's ALOFT_DATA_DIR (unused with PostgreSQL)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aloft.cluster.errors import ClusterError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ETCD = Path("/usr/bin/etcd")
HAPROXY = Path("/usr/sbin/haproxy")
# Patroni runs as the service user, who cannot execute a virtual environment built from a
# Python under /root; it gets its own, built from Debian's /usr/bin/python3 (`make patroni`).
PATRONI_VENV = Path("/opt/aloft/patroni-venv")
SERVICE_USER = "aloft-db"

ZONE_NAMES = "abcde"
MIN_ZONES, MAX_ZONES = 3, len(ZONE_NAMES)
PROGRAMS = ("etcd", "patroni", "app")

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
POSTGRES_PORT = 5432
PATRONI_PORT = 8008
APP_PORT = 8080
PROXY_ADDRESS = "127.0.0.1"
PROXY_PORT = 8080

# The `netns` network: one bridge, one namespace and one veth pair per zone. Interface names
# are at most 15 characters. Only one such cluster can run on a machine at a time (the
# bridge's alias names the cluster directory that owns it).
NETNS = "netns"
LOOPBACK = "loopback"
NETWORKS = (NETNS, LOOPBACK)
SUBNET = "10.213.0.0/24"
SUBNET_PREFIX = "10.213.0."
BRIDGE = "aloft0"
BRIDGE_ADDRESS = SUBNET_PREFIX + "1"
ZONE_INTERFACE = "eth0"  # the zone's end of its veth pair, inside its namespace

SCOPE = "aloft"  # Patroni's cluster name; its keys live under /aloft/aloft/ in etcd
NAMESPACE = "/aloft/"
DATABASE = "aloft"  # the app's database and the role that owns it
APP_ROLE = "aloft"
SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
REWIND_USER = "rewinder"
RESTAPI_USER = "patroni"

STATE_FILE = "cluster.json"
# Patroni's leader lease (ttl), seconds. 6 by default, chosen by measurement (issue 15; the
# figures are in docs/PATRONI-LEASE.md): a node crash stalls writes ~6.5 s instead of ~21 s,
# and a 30-minute soak with the machine overloaded (load average mean 39, max 60 on 2 cores),
# an fsync writer and slow lossy links saw no promotion. Below MIN_LEASE the cluster measured
# unstable. 20 is Patroni's own floor (`--lease 20` runs Patroni unmodified); a cluster made
# before the lease was recorded ran with it, hence LEGACY_LEASE.
DEFAULT_LEASE = 6
MIN_LEASE = 6
LEGACY_LEASE = 20
LEASE_SCRIPT = "patroni_lease.py"
# Every program supervisord starts carries this variable, so leftovers can be found by it.
MARKER = "ALOFT_CLUSTER_DIR"


@dataclass(frozen=True)
class Zone:
    """One failure domain: an etcd member, Patroni + PostgreSQL and an app on one address.
    `netns` is its network namespace's name (None on a loopback cluster)."""

    name: str
    index: int
    network: str = LOOPBACK

    @property
    def address(self) -> str:
        if self.network == NETNS:
            return f"{SUBNET_PREFIX}{11 + self.index}"
        return f"127.0.{self.index + 1}.1"

    @property
    def netns(self) -> str | None:
        return f"aloft-{self.name}" if self.network == NETNS else None

    @property
    def veth(self) -> str:
        """The bridge's end of the zone's veth pair (in the machine's own namespace)."""
        return f"aloft-{self.name}-br"

    @property
    def etcd_client_url(self) -> str:
        return f"http://{self.address}:{ETCD_CLIENT_PORT}"

    @property
    def etcd_peer_url(self) -> str:
        return f"http://{self.address}:{ETCD_PEER_PORT}"

    @property
    def patroni_url(self) -> str:
        return f"http://{self.address}:{PATRONI_PORT}"

    @property
    def app_url(self) -> str:
        return f"http://{self.address}:{APP_PORT}"

    @property
    def listeners(self) -> list[tuple[str, int]]:
        """Every (address, port) this zone's programs listen on."""
        return [
            (self.address, port)
            for port in (ETCD_CLIENT_PORT, ETCD_PEER_PORT, POSTGRES_PORT, PATRONI_PORT, APP_PORT)
        ]


def make_zones(count: int, network: str = LOOPBACK) -> tuple[Zone, ...]:
    if not MIN_ZONES <= count <= MAX_ZONES:
        raise ClusterError(f"--zones {count}: expected {MIN_ZONES} to {MAX_ZONES}")
    if network not in NETWORKS:
        raise ClusterError(f"unknown network {network!r}: expected {' or '.join(NETWORKS)}")
    return tuple(Zone(name, i, network) for i, name in enumerate(ZONE_NAMES[:count]))


@dataclass(frozen=True)
class Topology:
    """A cluster's shape and where its files are; saved as cluster.json by `up`.

    `user` is the account PostgreSQL, Patroni, etcd and HAProxy run as (None: whoever runs
    `aloft cluster`, when that is not root). `patroni` is the Patroni executable and `python`
    the interpreter of the app's environment (supervisord and the apps run from it).
    `network` is `netns` or `loopback` (see the module docstring). `lease` is Patroni's
    leader lease (ttl) in seconds: DEFAULT_LEASE unless the cluster was made with `--lease`
    (see `aloft.cluster.render.timings`).
    """

    root: Path
    zones: tuple[Zone, ...]
    user: str | None
    patroni: Path
    python: Path
    network: str = LOOPBACK
    lease: int = DEFAULT_LEASE

    @classmethod
    def create(
        cls,
        root: Path,
        zones: int,
        user: str | None,
        patroni: Path,
        python: Path,
        network: str = LOOPBACK,
        lease: int = DEFAULT_LEASE,
    ) -> Topology:
        return cls(
            root.absolute(), make_zones(zones, network), user, patroni, python, network, lease
        )

    # -- identity ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where clients reach the cluster: HAProxy."""
        return f"http://{PROXY_ADDRESS}:{PROXY_PORT}"

    @property
    def proxy_source(self) -> str:
        """The address HAProxy's connections to the apps come from (what the apps trust
        X-Forwarded-For from)."""
        return BRIDGE_ADDRESS if self.network == NETNS else PROXY_ADDRESS

    @property
    def client_networks(self) -> list[str]:
        """Where the zones' PostgreSQL accepts password connections from (pg_hba)."""
        return [SUBNET] if self.network == NETNS else ["127.0.0.0/8"]

    @property
    def zone_names(self) -> list[str]:
        return [z.name for z in self.zones]

    def zone(self, name: str) -> Zone:
        for zone in self.zones:
            if zone.name == name:
                return zone
        raise ClusterError(
            f"no zone {name!r} in this cluster (zones: {', '.join(self.zone_names)})"
        )

    @staticmethod
    def program(zone: Zone | str, program: str) -> str:
        """supervisord's name for a zone's program, e.g. patroni-a."""
        if program not in PROGRAMS:
            raise ClusterError(
                f"unknown program {program!r}: expected one of {', '.join(PROGRAMS)}"
            )
        return f"{program}-{zone if isinstance(zone, str) else zone.name}"

    # -- paths ---------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def credentials_file(self) -> Path:
        return self.root / "credentials.json"

    @property
    def supervisord_conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def haproxy_cfg(self) -> Path:
        return self.root / "haproxy.cfg"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def supervisor_socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def lease_script(self) -> Path:
        """The launcher that lowers Patroni's lease floor (used when lease < 20)."""
        return self.root / LEASE_SCRIPT

    @property
    def haproxy_socket(self) -> Path:
        """HAProxy's stats socket (read by `aloft cluster doctor`), in a directory of the
        service user that HAProxy runs as."""
        return self.root / "haproxy" / "stats.sock"

    @property
    def supervisor_pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    def zone_dir(self, zone: Zone) -> Path:
        return self.root / zone.name

    def patroni_config(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "patroni.yml"

    def etcd_dir(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "etcd"

    def pgdata(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "pgdata"

    def socket_dir(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "socket"

    def pgpass(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "pgpass"

    def app_dir(self, zone: Zone) -> Path:
        return self.zone_dir(zone) / "app"

    def log(self, program: str) -> Path:
        """supervisord's log of one program (stdout and stderr together)."""
        return self.log_dir / f"{program}.log"

    # -- saving --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "zones": len(self.zones),
            "user": self.user,
            "patroni": str(self.patroni),
            "python": str(self.python),
            "network": self.network,
            "lease": self.lease,
        }

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, root: Path) -> Topology:
        """The topology `up` saved in `root`; ClusterError if there is no cluster there."""
        root = root.absolute()
        path = root / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClusterError(
                f"no cluster in {root} (no {STATE_FILE}); create one with `aloft cluster up`"
            ) from None
        except PermissionError:
            raise ClusterError(f"cannot read {path}: run as root") from None
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot read {path}: {exc}") from None
        # A cluster made before zones had namespaces is a loopback one.
        network = data.get("network", LOOPBACK)
        return cls(
            root,
            make_zones(int(data["zones"]), network),
            data["user"],
            Path(data["patroni"]),
            Path(data["python"]),
            network,
            int(data.get("lease", LEGACY_LEASE)),
        )
