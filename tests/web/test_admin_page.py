"""The admin page, on SQLite and PostgreSQL: for admins only (403 for others); a single
node's database when no cluster directory is set; with one, the cluster's status and
doctor's checks (from a real supervisord run on the cluster's own rendered configuration,
with no program started), what kept them away when the cluster is gone, and within a few
seconds when its supervisord accepts a connection and never answers; and the newest drill
matrix, written by the drill's own writer, summarized with its report served to admins."""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.api.test_reports import _admin
from tests.conftest import Api
from tests.web.test_pages import sign_in, valid_html

from aloft.app import create_app
from aloft.cluster import render
from aloft.cluster.credentials import Credentials
from aloft.cluster.supervision import Supervisor
from aloft.cluster.topology import LOOPBACK, Topology
from aloft.config import Settings
from aloft.drill import matrix


def _cluster_dir(root: Path) -> Topology:
    """A cluster directory as `aloft cluster up` begins one (cluster.json, credentials),
    on loopback addresses where nothing of it listens."""
    topology = Topology.create(root, 3, None, Path("/nonexistent/patroni"), Path(sys.executable))
    assert topology.network == LOOPBACK
    for folder in (topology.root, topology.run_dir, topology.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    topology.save()
    Credentials.generate().save(topology.credentials_file)
    return topology


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """An app whose settings name a cluster directory and a drill reports folder (each
    test fills them), with an admin signed in; returns (api, topology, reports folder)."""
    topology = _cluster_dir(tmp_path / "cluster")
    reports = tmp_path / "reports"
    reports.mkdir()
    configured = dataclasses.replace(
        settings, cluster_dir=str(topology.root), drill_reports_dir=str(reports)
    )
    with TestClient(create_app(configured), base_url="http://127.0.0.1:8080") as client:
        api = Api(client)
        api.register("alice")
        _admin(api)
        yield api, topology, reports


def _page(api: Api, path: str = "/admin") -> str:
    """The page, asked from a thread that must finish: a page that hung would fail here
    rather than hang the test run."""
    answer: list[Any] = []
    asking = threading.Thread(target=lambda: answer.append(api.client.get(path)), daemon=True)
    asking.start()
    asking.join(120)
    assert answer, f"{path} did not answer within 120 s"
    r = answer[0]
    assert r.status_code == 200, r.text[:2000]
    valid_html(r.text)
    return str(r.text)


def test_single_node_page_and_admins_only(client: TestClient, settings: Settings) -> None:
    api = Api(client)
    api.register("alice")
    _admin(api)
    # Signed out, then as someone who is not an admin: 403, nothing shown.
    assert client.get("/admin").status_code == 403
    assert sign_in(client, "alice").status_code == 303
    refused = client.get("/admin")
    assert refused.status_code == 403 and "Single node" not in refused.text
    assert client.get("/admin/drill/x-matrix/report.html").status_code == 403
    assert sign_in(client, "root").status_code == 303
    text = _page(api)
    engine = "postgresql" if settings.database_url else "sqlite"
    assert "Single node" in text and f"Database engine: <strong>{engine}</strong>" in text
    assert '<span class="ok">reachable</span>' in text and "writes: yes" in text
    assert "Cluster" not in text and "Failover readiness" not in text
    assert "Moderation queue" in text and "No open reports." in text
    assert "set <code>ALOFT_DRILL_REPORTS_DIR</code>" in text
    assert client.get("/admin/drill/x-matrix/report.html").status_code == 404


def _record(fault: str, passed: bool, stall: float, lost: int = 0) -> matrix.RunRecord:
    return matrix.RunRecord(
        fault=fault,
        number=1,
        passed=passed,
        folder=f"runs/{fault}-1",
        acknowledged=120,
        lost=lost,
        duplicated=0,
        stall=stall,
        reads_answered=1.0,
        reasons=[] if passed else [f"{lost} acknowledged posts lost"],
    )


def _write_matrix(reports: Path, name: str, records: list[matrix.RunRecord]) -> Path:
    """A matrix folder as `aloft drill matrix` leaves it, by its own writer."""
    folder = reports / name
    (folder / "runs").mkdir(parents=True)
    plan = matrix.MatrixPlan(faults=tuple(r.fault for r in records), out=reports)
    matrix.write_report(folder, plan, records, time.monotonic() - 150)
    for record in records:
        run = folder / str(record.folder)
        run.mkdir(parents=True)
        (run / "report.html").write_text(f"<!doctype html><title>{record.fault}</title>")
    return folder


def test_a_stopped_cluster_and_the_newest_drill_matrix(site: Any, tmp_path: Path) -> None:
    api, _, reports = site
    assert sign_in(api.client, "alice").status_code == 303
    assert api.client.get("/admin").status_code == 403
    assert sign_in(api.client, "root").status_code == 303
    text = _page(api)
    # No supervisord answers: said, with the commands' own words, and nothing else fails.
    assert "Status unavailable: the cluster in" in text and "is not running" in text
    assert "Doctor unavailable:" in text
    assert f"no drill matrix in {reports}" in text
    assert "Moderation queue" in text

    _write_matrix(reports, "20261001-090000-matrix", [_record("kill-app", False, 30.0, 5)])
    newest = _write_matrix(
        reports,
        "20261002-090000-matrix",
        [_record("crash-primary-node", True, 6.4), _record("switchover", False, 2.5, lost=3)],
    )
    text = _page(api)
    assert "20261002-090000-matrix" in text and "kill-app" not in text
    assert '<span class="error">FAIL</span>' in text and "2 of 2 runs" in text
    assert '<th scope="row">crash-primary-node</th>' in text and "6.4 s, 6.4 s" in text
    assert '<td class="error">3</td>' in text  # the lost posts, marked
    link = "/admin/drill/20261002-090000-matrix/report.html"
    assert f'href="{link}"' in text
    assert 'href="/admin/drill/20261002-090000-matrix/runs/switchover-1/report.html"' in text

    served = api.client.get(link)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/html")
    assert served.text == (newest / "report.html").read_text()
    assert "sandbox" in served.headers["content-security-policy"]
    run = api.client.get("/admin/drill/20261002-090000-matrix/runs/switchover-1/report.html")
    assert run.status_code == 200 and "<title>switchover</title>" in run.text
    # Only reports, and only under the reports folder.
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "report.html").write_text("not for the web")
    for path in (
        "20261002-090000-matrix/matrix.json",
        "%2e%2e/secret/report.html",
        "20261002-090000-matrix/%2e%2e/%2e%2e/secret/report.html",
        "nothing/report.html",
    ):
        assert api.client.get(f"/admin/drill/{path}").status_code == 404, path
    assert sign_in(api.client, "alice").status_code == 303
    assert api.client.get(link).status_code == 403


def test_status_and_doctor_from_a_real_supervisord(site: Any) -> None:
    """supervisord runs the cluster's own configuration with no program started: every zone
    is down, and doctor says what is not ready."""
    api, topology, _ = site
    credentials = Credentials.load(topology.credentials_file)
    topology.supervisord_conf.write_text(render.supervisord_config(topology, credentials))
    supervisor = Supervisor(topology)
    supervisor.launch()
    try:
        assert sign_in(api.client, "root").status_code == 303
        text = _page(api)
    finally:
        supervisor.shutdown()
    assert "Status unavailable" not in text and "Doctor unavailable" not in text
    assert '<span class="error">Not healthy</span>' in text and "<li>no leader</li>" in text
    for zone in ("a", "b", "c"):
        assert f'<th scope="row">{zone}</th>' in text
    assert text.count('<td class="error">down</td>') == 3
    assert "etcd stopped, patroni stopped, app stopped" in text
    assert "not failover ready:" in text and "✗" in text


def test_a_supervisord_that_never_answers_costs_the_page_a_few_seconds(site: Any) -> None:
    """A socket that takes connections and never answers (as a frozen supervisord): the
    page comes anyway and says why; a second page waits for the same probe instead of
    starting another."""
    api, topology, _ = site
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(topology.supervisor_socket))
    silent.listen(16)  # connections are queued by the kernel, never accepted nor answered
    try:
        assert sign_in(api.client, "root").status_code == 303
        first = _page(api)
        assert "Status unavailable: no answer within" in first
        assert "Doctor unavailable: no answer within" in first
        assert "Moderation queue" in first
        second = _page(api)
        assert "Status unavailable: no answer within" in second
        probes = [t for t in threading.enumerate() if t.name == "cluster-probe" and t.is_alive()]
        assert len(probes) == 1
    finally:
        silent.close()  # the waiting probe's connection is reset, and its thread ends


def test_an_app_inside_a_named_network_namespace_knows_it(tmp_path: Path) -> None:
    """The page judges HAProxy by its stats socket from inside a zone's namespace, where
    the machine's loopback is out of reach. Found by the inode of /run/netns/<name>: in a
    zone, /proc/1/ns/net (the machine's) cannot be read, and the page said a healthy
    cluster's HAProxy did not answer."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make a network namespace")
    probe = [
        sys.executable,
        "-c",
        "from aloft.web.overview import _in_a_namespace as f; print(f())",
    ]
    outside = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=True)
    assert outside.stdout.strip() == "False"
    name = f"aloft-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        inside = subprocess.run(
            ["ip", "netns", "exec", name, *probe], capture_output=True, text=True, timeout=60
        )
        assert inside.returncode == 0, inside.stderr
        assert inside.stdout.strip() == "True"
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=30)
