"""The history's JSONL form gives back exactly what was written, and says where it is wrong."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aloft.drill.history import (
    FAULT_END,
    FAULT_START,
    LEADER,
    Event,
    FinalStatus,
    History,
    HistoryError,
    Operation,
    Recorder,
)


def sample() -> History:
    return History(
        operations=[
            Operation(0, "post", 1.25, 1.5, "ok", key="a" * 32, status_id="117", attempts=1),
            Operation(1, "post", 20.0, 80.0, "info", key="b" * 32, attempts=31, error="timeout"),
            Operation(2, "follow", 3.0, 3.1, "ok", target="118"),
            Operation(0, "read_home", 21.0, 21.2, "fail", error="HTTP 503: é"),
            Operation(3, "read_home", 22.0, 22.1, "ok", client="plain", ids=["120", "117"]),
            Operation(3, "read_home", 23.0, 23.1, "ok", client="plain", ids=[]),
            Operation(
                3,
                "post",
                24.0,
                24.2,
                "ok",
                key="c" * 32,
                status_id="121",
                client="plain",
                server="10.0.0.2:5432",
            ),
        ],
        events=[
            Event(0.4, LEADER, {"leader": "a"}),
            Event(20.0, FAULT_START, {"fault": "crash-primary-node", "zone": "a"}),
            Event(22.1, LEADER, {"leader": None, "error": "patroni of a did not answer"}),
            Event(40.0, FAULT_END, {"fault": "crash-primary-node", "zone": "a", "n": [1, 2]}),
        ],
        final_read=[FinalStatus("117", "9", "a" * 32), FinalStatus("120", "9", None)],
        meta={
            "fault": "crash-primary-node",
            "clients": 3,
            "accounts": [{"process": 0}],
            "database_servers": {"10.0.0.1:5432": "a", "10.0.0.2:5432": "b"},
        },
    )


def test_round_trip(tmp_path: Path) -> None:
    history = sample()
    path = tmp_path / "run" / "history.jsonl"
    history.write(path)
    again = History.read(path)
    assert again == history
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 7 + 4 + 2
    assert '"type":"meta"' in lines[0] and '"latency":0.25' in lines[1]


def test_no_final_read_and_an_empty_one_differ(tmp_path: Path) -> None:
    none = History(operations=sample().operations)
    none.write(tmp_path / "a.jsonl")
    assert History.read(tmp_path / "a.jsonl").final_read is None
    empty = History(operations=sample().operations, final_read=[])
    empty.write(tmp_path / "b.jsonl")
    assert History.read(tmp_path / "b.jsonl").final_read == []


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    sample().write(path)
    with path.open("a") as out:
        out.write(
            '{"type":"op","process":0,"kind":"post","invoke":1,"complete":2,"outcome":"maybe"}\n'
        )
    with pytest.raises(HistoryError, match=r"h\.jsonl:15: unknown outcome 'maybe'"):
        History.read(path)
    path.write_text('{"type":"meta"}\n\n{"type":"nonsense"}\n')
    with pytest.raises(HistoryError, match=r":3: unknown record type 'nonsense'"):
        History.read(path)
    path.write_text("not json\n")
    with pytest.raises(HistoryError, match=r":1: "):
        History.read(path)


def test_an_old_history_reads_back_with_the_new_fields_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(
        '{"type":"meta","fault":"none"}\n'
        '{"type":"op","process":0,"kind":"read_home","invoke":1,"complete":2,"outcome":"ok",'
        '"latency":1}\n'
    )
    (op,) = History.read(path).operations
    assert (op.client, op.ids, op.server) == ("careful", None, None)


def test_an_unknown_kind_of_client_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(
        '{"type":"op","process":0,"kind":"post","invoke":1,"complete":2,"outcome":"ok",'
        '"client":"reckless"}\n'
    )
    with pytest.raises(HistoryError, match=r":1: unknown kind of client 'reckless'"):
        History.read(path)


def test_fault_window_and_leader_changes() -> None:
    history = sample()
    assert history.fault_window() == (20.0, 40.0)
    assert [e.detail["leader"] for e in history.leader_changes()] == ["a", None]
    assert History().fault_window() is None
    assert History().end_time() == 0.0


def test_recorder_from_many_threads() -> None:
    recorder = Recorder({"fault": "none"})

    def work(process: int) -> None:
        for n in range(200):
            t = recorder.now()
            outcome = "ok" if n % 10 else "info"
            recorder.operation(Operation(process, "post", t, recorder.now(), outcome, key=f"{n}"))

    threads = [threading.Thread(target=work, args=(p,)) for p in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.event(LEADER, leader="b")
    assert recorder.counts() == {"ok": 1440, "fail": 0, "info": 160}
    assert len(recorder.history.operations) == 1600
    assert recorder.history.events[0].detail == {"leader": "b"}
    assert "started_at" in recorder.history.meta
