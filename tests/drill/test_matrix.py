"""`aloft drill matrix`: planning, the summary from verdicts, the report, and the loop itself
against a single-node server with the scripted cluster of test_schedule.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from aloft.drill.faults import DrillError
from aloft.drill.matrix import (
    QUICK,
    MatrixPlan,
    MatrixResult,
    Row,
    RunRecord,
    all_faults,
    load_records,
    render_html,
    run_matrix,
    summarize,
)
from aloft.drill.workload import WorkloadSettings
from tests.conftest import Server
from tests.drill.test_schedule import ScriptedCluster


def test_every_fault_is_in_the_full_matrix_and_rounds_come_first() -> None:
    plan = MatrixPlan(faults=("kill-app", "switchover"), runs=2)
    assert plan.schedule() == [
        (1, "kill-app"),
        (1, "switchover"),
        (2, "kill-app"),
        (2, "switchover"),
    ]
    assert "crash-leader-twice" in all_faults() and "none" not in all_faults()
    assert set(QUICK) <= set(all_faults())
    # 10 s before the fault, its 20 s window, 20 s after, and 20 s around each run.
    assert plan.estimate() == 4 * (10 + 20 + 20 + 20)
    full = MatrixPlan(faults=all_faults())
    assert full.estimate() / 60 < 40, "one run of each fault fits in about half an hour"


def test_unknown_faults_and_no_runs_are_refused() -> None:
    with pytest.raises(DrillError, match="unknown fault crash-everything"):
        MatrixPlan(faults=("crash-everything",)).validate()
    with pytest.raises(DrillError, match="at least 1"):
        MatrixPlan(faults=("kill-app",), runs=0).validate()


def _record(fault: str, number: int, passed: bool = True, stall: float | None = 20.0) -> RunRecord:
    return RunRecord(
        fault=fault,
        number=number,
        passed=passed,
        folder=f"runs/{fault}-{number}",
        acknowledged=100,
        lost=0 if passed else 1,
        plain_errors=0 if passed else 2,
        stall=stall,
        reads_answered=1.0 if passed else 0.97,
        reasons=[] if passed else ["1 acknowledged post lost"],
    )


def test_a_row_sums_its_runs_and_fails_with_any_failed_run() -> None:
    records = [
        _record("kill-app", 1, stall=2.0),
        _record("kill-app", 2, False, stall=9.0),
        _record("kill-app", 3, stall=3.0),
        _record("switchover", 1, stall=2.5),
    ]
    kill, switch = summarize(("kill-app", "switchover"), records)
    assert (kill.runs, kill.passed, kill.lost, kill.plain_errors) == (3, 2, 1, 2)
    assert (kill.stall_median, kill.stall_worst, kill.reads_answered) == (3.0, 9.0, 0.97)
    assert kill.verdict == "FAIL" and switch.verdict == "PASS"
    not_run = Row.of("crash-zone", [RunRecord("crash-zone", 1, False, not_started="no leader")])
    assert not_run.verdict == "NOT RUN"


def test_the_report_links_every_run_and_plots_every_stall(tmp_path: Path) -> None:
    records = [_record("kill-app", 1, stall=2.0), _record("switchover", 1, False, stall=7.5)]
    plan = MatrixPlan(faults=("kill-app", "switchover"))
    result = MatrixResult(records, summarize(plan.faults, records), tmp_path, 300.0)
    html = render_html(result, plan)
    assert 'href="runs/kill-app-1/report.html"' in html
    assert 'href="runs/switchover-1/report.html"' in html
    assert html.count("<circle") == 2 and "switchover run 1: 7.50 s" in html
    assert "1 acknowledged post lost" in html and "FAIL" in html


def test_the_matrix_runs_each_fault_and_writes_its_report(server: Server, tmp_path: Path) -> None:
    cluster = ScriptedCluster(server.url)
    plan = MatrixPlan(
        faults=("crash-primary-postgres",),
        runs=2,
        out=tmp_path,
        directory=tmp_path,
        workload=WorkloadSettings(clients=2, plain_clients=2),
        fault_at=2,
        fault_window=1,
        after_window=2,
    )
    result = run_matrix(plan, Console(quiet=True), cluster)
    assert [(r.fault, r.number) for r in result.records] == [
        ("crash-primary-postgres", 1),
        ("crash-primary-postgres", 2),
    ]
    assert result.passed, [r.reasons for r in result.records]
    assert all(r.acknowledged > 0 for r in result.records)
    (row,) = result.rows
    assert row.verdict == "PASS" and row.runs == 2
    saved = json.loads((result.folder / "matrix.json").read_text())
    assert len(saved["records"]) == 2 and saved["summary"][0]["fault"] == "crash-primary-postgres"
    assert load_records(result.folder / "matrix.json") == result.records
    html = (result.folder / "report.html").read_text()
    for record in result.records:
        assert record.folder and (result.folder / record.folder / "report.html").exists()
        assert f'href="{record.folder}/report.html"' in html
