"""The report: the terminal table, the run folder and the HTML page with its SVG plots."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from aloft.drill.checker import check
from aloft.drill.history import (
    FAULT_END,
    FAULT_START,
    LEADER,
    Event,
    FinalStatus,
    History,
    Operation,
)
from aloft.drill.report import render_html, verdict_table, write_run

SVG = "{http://www.w3.org/2000/svg}"


def drilled() -> History:
    """A node crash as it should look: a stall, slow successes, two errors, a new leader."""
    ops: list[Operation] = []
    for tenth in range(600):
        t = tenth / 10
        # Writes stall from 20.3 s: acknowledged late, all at once at 39.2 s.
        latency = 39.2 - t if 20.3 <= t < 39 else 0.004 + (tenth % 7) / 1000
        n = tenth + 1
        ops.append(Operation(n % 4, "post", t, t + latency, "ok", key=f"k{n}", status_id=str(n)))
        if tenth % 5 == 0:
            ops.append(Operation(n % 4, "read_home", t, t + 0.003, "ok"))
    ops.append(Operation(1, "read_home", 25.0, 35.0, "info", error="timeout"))
    ops.append(Operation(2, "follow", 26.0, 26.5, "fail", target="3", error="HTTP 422"))
    events = [
        Event(0.2, LEADER, {"leader": "a"}),
        Event(20.0, FAULT_START, {"fault": "crash-primary-node", "zone": "a"}),
        Event(20.6, LEADER, {"leader": None}),
        Event(38.9, LEADER, {"leader": "b"}),
        Event(40.0, FAULT_END, {"fault": "crash-primary-node", "zone": "a"}),
    ]
    final = [FinalStatus(op.status_id, "1", op.key) for op in ops if op.status_id]
    meta = {"fault": "crash-primary-node", "url": "http://127.0.0.1:8080", "duration": 60}
    return History(operations=ops, events=events, final_read=final, meta=meta)


def svgs(html: str) -> list[ET.Element]:
    """Every <svg> of the page, parsed as XML (so each one is well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg class=.*?</svg>", html, re.S)]


def test_html_has_the_plots_with_every_point_the_fault_window_and_leader_changes() -> None:
    history = drilled()
    verdict = check(history)
    html = render_html(history, verdict)
    assert html.startswith("<!doctype html>")
    assert "crash-primary-node" in html and "FAIL" in html  # two errors fail it
    latency, throughput = svgs(html)
    assert latency.get("class") == "latency-plot"
    assert throughput.get("class") == "throughput-plot"

    markers = [e for e in latency.iter() if "op" in (e.get("class") or "").split()]
    assert len(markers) == len(history.operations)
    by_outcome = {
        o: sum(o in (e.get("class") or "") for e in markers) for o in ("ok", "info", "fail")
    }
    assert by_outcome == {"ok": len(history.operations) - 2, "info": 1, "fail": 1}
    assert sum(e.tag == f"{SVG}circle" for e in markers) == 600  # posts are circles

    for plot in (latency, throughput):
        (window,) = [e for e in plot.iter(f"{SVG}rect") if e.get("class") == "fault-window"]
        assert float(window.get("width") or 0) > 100
        leaders = [e for e in plot.iter(f"{SVG}line") if e.get("class") == "leader-change"]
        assert len(leaders) == 3
        assert [e for e in plot.iter(f"{SVG}line") if e.get("class") == "stall"]
    texts = " ".join(e.text or "" for e in latency.iter(f"{SVG}text"))
    assert "crash-primary-node (zone a)" in texts
    assert "leader b" in texts and "no leader" in texts
    assert "write stall 18.8 s" in texts


def test_run_folder(tmp_path: Path) -> None:
    history = drilled()
    verdict = check(history)
    folder = write_run(tmp_path / "runs" / "x", history, verdict)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["history.jsonl", "report.html", "verdict.json"]
    data = json.loads((folder / "verdict.json").read_text())
    assert data["passed"] is False and data["error_count"] == 2
    assert data["meta"]["fault"] == "crash-primary-node"
    assert History.read(folder / "history.jsonl") == history


def test_terminal_table() -> None:
    history = drilled()
    console = Console(record=True, width=120)
    console.print(verdict_table(check(history), "drill crash-primary-node"))
    text = console.export_text()
    for words in (
        "FAIL",
        "lost",
        "duplicated",
        "unexpected",
        "client-visible errors",
        "write stall (fault)",
        "18.80 s",
        "read availability (fault)",
        "write p50",
    ):
        assert words in text, words
    assert "2 client-visible error(s)" in text


def test_an_empty_history_still_renders() -> None:
    history = History()
    html = render_html(history, check(history))
    assert len(svgs(html)) == 2


def with_plain_clients_stale_reads_and_a_stray_write() -> History:
    """`drilled()` plus a plain client (process 9) whose post at 30 s failed with a 503 and
    whose later read missed its own post, and a write zone a acknowledged after b led."""
    history = drilled()
    plain = [
        Operation(9, "post", 10.0, 10.01, "ok", key="p1", status_id="9001", client="plain"),
        Operation(9, "read_home", 11.0, 11.01, "ok", client="plain", ids=["9001"]),
        Operation(9, "post", 30.0, 30.5, "info", key="p2", client="plain", error="HTTP 503"),
        Operation(9, "read_home", 45.0, 45.01, "ok", client="plain", ids=[]),
        Operation(9, "follow", 50.0, 50.01, "ok", target="3", client="plain", server="h1:5432"),
    ]
    history.operations += plain
    history.final_read = [*(history.final_read or []), FinalStatus("9001", "9", "p1")]
    history.meta["database_servers"] = {"h1:5432": "a", "h2:5432": "b"}
    return history


def test_plain_client_operations_are_drawn_hollow() -> None:
    history = with_plain_clients_stale_reads_and_a_stray_write()
    (latency, _) = svgs(render_html(history, check(history)))
    markers = [e for e in latency.iter() if "op" in (e.get("class") or "").split()]
    plain = [e for e in markers if "plain" in (e.get("class") or "").split()]
    assert len(plain) == 5
    assert all(e.get("fill") == "none" and e.get("stroke") for e in plain)
    careful = [e for e in markers if "careful" in (e.get("class") or "").split()]
    assert len(careful) == len(markers) - 5
    assert all(e.get("fill") != "none" for e in careful)


def test_plain_and_careful_errors_stale_reads_and_stray_writes_are_reported() -> None:
    history = with_plain_clients_stale_reads_and_a_stray_write()
    verdict = check(history)
    console = Console(record=True, width=160)
    console.print(verdict_table(verdict))
    rows = {
        cells[0]: cells[1]
        for line in console.export_text().splitlines()
        if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 2
    }
    assert rows["errors, plain clients (each request once)"] == "1 (post: 0 fail, 1 info)"
    assert rows["errors, careful clients (retrying)"].startswith("2 (follow: 1 fail")
    assert rows["stale reads"] == "1 read-your-writes, 1 monotonic"
    assert rows["writes by a non-primary"] == "1"
    assert rows["read availability (fault), plain clients"] == "–"
    html = render_html(history, verdict)
    assert "Stale reads: the client&#x27;s own post missing: 1" in html
    assert "Stale reads: a post shown before missing: 1" in html
    assert "Writes acknowledged by a server that did not lead: 1" in html
    assert "follow by process 9 at 50.00–50.01 s acknowledged by h1:5432 (zone a)" in html


def test_what_was_not_judged_says_so() -> None:
    console = Console(record=True, width=160)
    console.print(verdict_table(check(drilled())))
    text = console.export_text()
    assert "not judged (no read recorded its ids)" in text
    assert "not judged (no server names or no leader changes recorded)" in text
