"""What the real-cluster tests (tests/cluster, tests/drill) need from the machine, and a
cluster directory they can reach.

A cluster needs root (PostgreSQL and Patroni run as a service user that `up` creates) and the
packages `make system` installs; without them the tests say which is missing and skip. CI runs
as root and installs them, so there they run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aloft.cluster.topology import ETCD, HAPROXY, PATRONI_VENV, PG_BIN
from tests.commands import aloft


def why_no_cluster() -> str | None:
    """None when this machine can run a cluster, else one line saying what to do."""
    if os.geteuid() != 0:
        return "a cluster needs root (PostgreSQL and Patroni run as a user that `up` creates)"
    for path, fix in (
        (PG_BIN / "postgres", "apt-get install postgresql-15"),
        (ETCD, "apt-get install etcd-server"),
        (HAPROXY, "apt-get install haproxy"),
        (PATRONI_VENV / "bin" / "patroni", "make patroni"),
    ):
        if not path.exists():
            return f"{path} is missing ({fix}, or `make system` as root)"
    return None


@contextmanager
def cluster_directory(prefix: str) -> Iterator[Path]:
    """A fresh cluster directory under /tmp (the service user must reach it; pytest's tmp_path
    is 0700). On exit, whatever cluster was started there is brought down and purged."""
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp")) / "cluster"
    directory.parent.chmod(0o755)
    try:
        yield directory
    finally:
        if (directory / "cluster.json").exists():
            aloft("cluster", "down", "--purge", "--dir", str(directory), timeout=300)
        shutil.rmtree(directory.parent, ignore_errors=True)
