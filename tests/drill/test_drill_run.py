"""`aloft drill run --fault none` end to end against a real single-node `aloft serve`, then
`aloft drill check` on what it wrote, and the one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aloft.drill.faults import DrillError
from aloft.drill.history import History
from tests.commands import aloft
from tests.conftest import Server


def test_drill_against_a_single_node_passes_and_writes_its_run_folder(
    server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    result = aloft(
        "drill",
        "run",
        "--fault",
        "none",
        "--url",
        server.url,
        "--duration",
        "8",
        "--clients",
        "3",
        "--plain-clients",
        "2",
        "--plain-timeout",
        "30",
        "--out",
        str(out),
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    assert "lost" in result.stdout and "client-visible errors" in result.stdout
    assert "registering 5 drill accounts" in result.stderr
    assert "(3 careful, 2 plain)" in result.stderr

    (folder,) = out.iterdir()
    assert folder.name.endswith("-none")
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["history.jsonl", "report.html", "verdict.json"]
    verdict = json.loads((folder / "verdict.json").read_text())
    assert verdict["passed"] is True, verdict["reasons"]
    assert verdict["lost"] == [] and verdict["duplicated"] == {} and verdict["unexpected"] == []
    assert verdict["error_count"] == 0
    assert verdict["acknowledged_posts"] > 20
    assert verdict["final_read_size"] == verdict["acknowledged_posts"]

    history = History.read(folder / "history.jsonl")
    # Three careful writers (0–2), two plain ones (3, 4), two readers numbered after them.
    clients = {op.process: op.client for op in history.operations}
    assert [clients[p] for p in range(7)] == ["careful"] * 3 + ["plain"] * 2 + ["careful"] * 2
    assert len(clients) == 7
    assert {op.kind for op in history.operations if op.process >= 5} == {"read_home"}
    assert {op.kind for op in history.operations} == {"post", "follow", "read_home"}
    assert all(op.outcome == "ok" for op in history.operations)
    assert max(op.invoke for op in history.operations) < 8.5
    assert history.meta["fault"] == "none" and len(history.meta["accounts"]) == 5
    assert (history.meta["plain_clients"], history.meta["plain_timeout"]) == (2, 30)
    assert history.meta["database_servers"] is None
    assert verdict["errors_by_client"] == {"careful": {}, "plain": {}}
    assert verdict["stale_reads"] == {"read_your_writes": 0, "monotonic": 0}
    assert verdict["writes_by_non_primary"] is None  # SQLite names no server
    # The streaming client saw the posts; the gap is reported next to the write stall.
    assert verdict["stream"]["updates"] > 0 and verdict["stream"]["losses"] == 0
    assert "stream gap" in result.stdout
    assert "<svg" in (folder / "report.html").read_text()

    again = aloft("drill", "check", str(folder / "history.jsonl"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "PASS" in again.stdout and "re-checked" in again.stdout


def test_a_failing_history_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    History(meta={"fault": "none"}).write(path)
    result = aloft("drill", "check", str(path))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "no write was acknowledged" in result.stdout


def test_refusals_are_one_line_and_exit_2(tmp_path: Path) -> None:
    elsewhere = aloft("drill", "run", "--fault", "none", "--url", "http://10.1.2.3:8080")
    assert elsewhere.returncode == 2
    assert elsewhere.stderr.strip() == (
        "aloft: refusing to send drill traffic to 10.1.2.3: only 127.0.0.0/8 addresses "
        "(or localhost) are allowed"
    )
    late = aloft("drill", "run", "--duration", "30", "--fault-at", "20", "--fault-window", "20")
    assert late.returncode == 2
    assert "the fault ends at 40 s, after the 30 s run" in late.stderr
    missing = aloft("drill", "run", "--fault", "crash-primary-node", "--dir", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"aloft: cannot load the cluster in {tmp_path}")
    assert len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    unreadable = aloft("drill", "check", str(bad))
    assert unreadable.returncode == 2
    assert unreadable.stderr.startswith("aloft: cannot read the history:")


def test_hangs_and_partitions_outlast_patronis_lease_by_default() -> None:
    """A hang or partition shorter than the leader lease (at most 20 s) ends before anyone
    may take over; by default they last 30 s, so the default drill exercises a failover."""
    from aloft.drill.run import DrillPlan

    for fault in ("hang-primary-node", "hang-primary-postgres", "partition-primary"):
        assert DrillPlan(fault=fault).window == 30
    for fault in ("crash-primary-node", "kill-app", "cut-clients-from-primary", "switchover"):
        assert DrillPlan(fault=fault).window == 20
    assert DrillPlan(fault="hang-primary-node", fault_window=12).window == 12
    with pytest.raises(DrillError, match="after the 45 s run"):
        DrillPlan(fault="partition-primary", duration=45).validate()
