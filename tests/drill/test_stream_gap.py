"""The stream gap on hand-made histories: updates that arrive with (or after) the posts,
a stream that stays silent after writes resume, one that never comes back, none at all."""

from __future__ import annotations

import json

import pytest

from aloft.drill.checker import Stall, check
from aloft.drill.history import (
    STREAM,
    STREAM_CONNECT,
    STREAM_END,
    STREAM_LOST,
    Event,
    History,
)
from aloft.drill.report import render_html, summary_rows
from tests.drill.test_checker import acks, fault, present


def arrivals(ops: list, delay: float, after: float = 0.0, before: float = 1e9) -> list[Event]:
    """An update `delay` seconds after each post acknowledged in [after, before]."""
    return [
        Event(round(op.complete + delay, 6), STREAM, {"id": op.status_id})
        for op in ops
        if after <= op.complete <= before
    ]


def streamed(ops: list, events: list[Event], end: float) -> History:
    timeline = [Event(0.5, STREAM_CONNECT), *events, Event(end, STREAM_END)]
    return History(
        operations=ops, events=sorted(timeline, key=lambda e: e.time), final_read=present(ops)
    )


def test_in_normal_running_the_gap_is_one_delivery() -> None:
    ops = acks(1, 20)
    verdict = check(streamed(ops, arrivals(ops, 0.05), end=21))
    assert verdict.stream is not None
    assert verdict.stream.updates == len(ops) and verdict.stream.losses == 0
    assert verdict.stream.gap is not None and verdict.stream.gap.seconds == pytest.approx(0.05)
    # The "stall" is the 0.5 s between two posts: the next update came one delivery later.
    assert verdict.stream.back_after_writes_resumed == pytest.approx(0.05)


def test_a_stream_silent_after_writes_resume_is_measured_from_the_first_ack() -> None:
    # Writes stall 20 -> 38.5; the stream reconnects and flows again only at 41.5.
    ops = acks(1, 20) + acks(38.5, 60, first_id=5000)
    events = arrivals(ops, 0.05, before=20) + arrivals(ops, 0.05, after=41.5)
    events += [Event(22.0, STREAM_LOST, {"error": "closed"}), Event(40.0, STREAM_CONNECT)]
    history = streamed(ops, events, end=61)
    history.events += fault(20.2, 40.2)
    verdict = check(history)
    assert verdict.stall_during_fault == Stall(20.0, 38.5)
    assert verdict.stream is not None and verdict.stream.losses == 1
    assert verdict.stream.gap == Stall(38.5, 41.55)
    assert verdict.stream.back_after_writes_resumed == pytest.approx(41.55 - 38.5)
    assert verdict.passed  # reported, not failed
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["stream"]["gap"]["seconds"] == pytest.approx(3.05)
    rows = {label: value for label, value, _ in summary_rows(verdict)}
    assert rows["stream gap"].startswith("3.05 s (38.5–41.5 s)")
    assert "connection lost 1×" in rows["stream gap"]
    assert rows["stream back after writes resumed"] == "3.05 s"
    html = render_html(history, verdict)
    assert "stream gap" in html and "stream-lost" in html
    assert f"id={ops[0].status_id}" not in html  # arrivals are counted, not listed


def test_a_stream_that_never_comes_back() -> None:
    ops = acks(1, 20) + acks(38.5, 60, first_id=5000)
    history = streamed(ops, arrivals(ops, 0.05, before=20), end=61)
    verdict = check(history)
    assert verdict.stream is not None
    assert verdict.stream.gap == Stall(38.5, 61)
    assert verdict.stream.back_after_writes_resumed is None
    rows = {label: value for label, value, _ in summary_rows(verdict)}
    assert rows["stream back after writes resumed"] == "no update after the stall"


def test_posts_acknowledged_after_the_stream_ended_do_not_count() -> None:
    ops = acks(1, 30)
    verdict = check(streamed(ops, arrivals(ops, 0.05, before=20), end=20.5))
    assert verdict.stream is not None and verdict.stream.gap is not None
    assert verdict.stream.gap.seconds == pytest.approx(0.05)


def test_without_a_streaming_client_nothing_is_reported() -> None:
    ops = acks(1, 10)
    verdict = check(History(operations=ops, final_read=present(ops)))
    assert verdict.stream is None
    assert "stream gap" not in {label for label, _, _ in summary_rows(verdict)}
    assert verdict.to_dict()["stream"] is None
