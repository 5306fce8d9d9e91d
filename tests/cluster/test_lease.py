"""The opt-in short leader lease (`aloft cluster up --lease`): the timings it renders, the
launcher that lowers Patroni's floors, and that real Patroni keeps the values it is given."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from aloft.cluster import render
from aloft.cluster.credentials import Credentials
from aloft.cluster.topology import DEFAULT_LEASE, PATRONI_VENV, Topology

LAUNCHER = Path(render.__file__).with_name("patroni_lease.py")
PATRONI_PYTHON = PATRONI_VENV / "bin" / "python"


@pytest.fixture
def topology(tmp_path: Path) -> Topology:
    return Topology.create(
        tmp_path / "cluster", 3, "aloft-db", PATRONI_VENV / "bin" / "patroni", Path("/py")
    )


def test_timings_keep_patronis_rule_at_every_lease() -> None:
    assert render.timings(20) == render.Timings(20, 2, 4)
    assert render.timings(6) == render.Timings(6, 1, 2)
    assert render.timings(8) == render.Timings(8, 1, 3)
    assert render.timings(10) == render.Timings(10, 1, 4)
    for lease in range(6, 31):
        t = render.timings(lease)
        assert t.loop_wait + 2 * t.retry_timeout <= t.ttl, t
        assert t.needs_launcher == (lease < 20)
    with pytest.raises(ValueError, match="under 6 s"):
        render.timings(5)


def test_a_short_lease_is_rendered_and_started_through_the_launcher(topology: Topology) -> None:
    credentials = Credentials.generate()
    short = replace(topology, lease=6)
    dcs = yaml.safe_load(render.patroni_yaml(short, short.zones[0], credentials))["bootstrap"][
        "dcs"
    ]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (6, 1, 2)
    argv = render.patroni_command(short, short.zones[0])
    assert argv[3:] == [
        str(PATRONI_PYTHON),
        str(short.lease_script),
        "6",
        "2",
        str(short.patroni_config(short.zones[0])),
    ]
    # Patroni's own floor needs no launcher.
    floor = replace(topology, lease=20)
    assert str(floor.lease_script) not in render.patroni_command(floor, floor.zones[0])


def test_a_new_cluster_gets_the_measured_default_lease(topology: Topology) -> None:
    assert topology.lease == DEFAULT_LEASE == 6
    argv = render.patroni_command(topology, topology.zones[0])
    assert str(topology.lease_script) in argv


def test_the_lease_survives_saving_the_topology(topology: Topology) -> None:
    short = replace(topology, lease=8)
    short.root.mkdir(parents=True)
    short.save()
    assert Topology.load(short.root).lease == 8
    data = json.loads(short.state_file.read_text())
    del data["lease"]  # a cluster made before --lease existed
    short.state_file.write_text(json.dumps(data))
    assert Topology.load(short.root).lease == 20  # what it ran with, not today's default


ADJUST = """
import json, sys
sys.path.insert(0, {launcher_dir!r})
if {install}:
    import patroni_lease
    patroni_lease.install(6, 2)
from patroni.config import Config
config = {{"ttl": 6, "loop_wait": 1, "retry_timeout": 2}}
Config._validate_and_adjust_timeouts(Config.__new__(Config), config)
print(json.dumps(config))
"""


@pytest.mark.skipif(not PATRONI_PYTHON.exists(), reason="Patroni is not installed (make patroni)")
@pytest.mark.parametrize(("install", "kept"), [(False, 20), (True, 6)])
def test_real_patroni_keeps_a_short_ttl_only_through_the_launcher(install: bool, kept: int) -> None:
    """Patroni itself raises ttl 6 to 20; with the launcher's two floors it keeps 6, 1, 2."""
    script = ADJUST.format(launcher_dir=str(LAUNCHER.parent), install=install)
    out = subprocess.run(
        [str(PATRONI_PYTHON), "-c", script], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout.strip().splitlines()[-1])
    assert config["ttl"] == kept
    if install:
        assert config == {"ttl": 6, "loop_wait": 1, "retry_timeout": 2}


@pytest.mark.skipif(not PATRONI_PYTHON.exists(), reason="Patroni is not installed (make patroni)")
def test_the_launcher_refuses_a_patroni_it_was_not_written_for(tmp_path: Path) -> None:
    fake = tmp_path / "patroni"
    fake.mkdir()
    (fake / "__init__.py").write_text("__version__ = '9.9.9'\n")
    script = (
        f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(LAUNCHER.parent)!r}]\n"
        "import patroni_lease; patroni_lease.install(6, 2)\n"
    )
    out = subprocess.run([str(PATRONI_PYTHON), "-c", script], capture_output=True, text=True)
    assert out.returncode != 0
    assert "9.9.9 is not the pinned 4.1.5" in out.stderr
