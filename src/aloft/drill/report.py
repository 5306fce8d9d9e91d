"""The verdict for people: a short table on the terminal, and a run folder.

The run folder holds `history.jsonl` (everything recorded, enough to check again with
`aloft drill check`), `verdict.json` and `report.html`: one self-contained page with the
verdict and two plots drawn as inline SVG — the latency of every operation over time,
coloured by outcome, shaped by kind, filled for careful clients and hollow for plain ones,
and the acknowledged writes and errors per second — both with the fault window shaded,
leader changes marked and the write stall drawn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from rich.table import Table

from aloft.drill.checker import MONOTONIC, READ_YOUR_WRITES, Errors, Latency, Stall, Verdict
from aloft.drill.history import FAULT_ERROR, FAULT_START, STREAM, History, Operation

COLOURS = {"ok": "#2e7d32", "info": "#ef6c00", "fail": "#c62828"}
LEADER_COLOUR = "#1565c0"
STALL_COLOUR = "#6a1b9a"
LIST_LIMIT = 50


# -- terminal -------------------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _stream_rows(verdict: Verdict) -> list[tuple[str, str, bool | None]]:
    """The streaming client's figures, next to the write stall (none when it did not run)."""
    stream = verdict.stream
    if stream is None:
        return []
    losses = f", connection lost {stream.losses}×" if stream.losses else ""
    back = stream.back_after_writes_resumed
    return [
        ("stream gap", f"{_stall_text(stream.gap)} ({stream.updates} updates{losses})", None),
        (
            "stream back after writes resumed",
            "no update after the stall" if back is None else f"{back:.2f} s",
            None,
        ),
    ]


def _stall_text(stall: Stall | None) -> str:
    if stall is None:
        return "–"
    return f"{stall.seconds:.2f} s ({stall.start:.1f}–{stall.end:.1f} s)"


def _latency_text(latency: Latency) -> str:
    if not latency.count:
        return "–"
    return f"{_seconds(latency.p50)} / {_seconds(latency.p99)} (n={latency.count})"


def _errors_text(errors: Errors) -> str:
    if not errors:
        return "0"
    parts = [
        f"{kind}: {counts['fail']} fail, {counts['info']} info" for kind, counts in errors.items()
    ]
    total = sum(sum(counts.values()) for counts in errors.values())
    return f"{total} ({'; '.join(parts)})"


def _availability_text(availability: float | None, reads: int) -> str:
    return "–" if availability is None else f"{availability:.1%} of {reads}"


def _stale_text(verdict: Verdict) -> tuple[str, bool | None]:
    stale = verdict.stale_reads
    if stale is None:
        return "not judged (no read recorded its ids)", None
    text = f"{stale[READ_YOUR_WRITES]} read-your-writes, {stale[MONOTONIC]} monotonic"
    return text, not any(stale.values())


def _non_primary_text(verdict: Verdict) -> tuple[str, bool | None]:
    count = verdict.writes_by_non_primary
    if count is None:
        return "not judged (no server names or no leader changes recorded)", None
    return str(count), count == 0


def summary_rows(verdict: Verdict) -> list[tuple[str, str, bool | None]]:
    """(label, value, good?) for every line of the verdict; good is None when neutral."""
    rows: list[tuple[str, str, bool | None]] = [
        ("verdict", "PASS" if verdict.passed else "FAIL", verdict.passed),
        (
            "posts acknowledged / attempted",
            f"{verdict.acknowledged_posts} / {verdict.attempted_posts}",
            None,
        ),
        (
            "final read",
            "none" if verdict.final_read_size is None else f"{verdict.final_read_size} statuses",
            verdict.final_read_size is not None,
        ),
        ("lost", str(len(verdict.lost)), not verdict.lost),
        ("duplicated", str(len(verdict.duplicated)), not verdict.duplicated),
        ("unexpected", str(len(verdict.unexpected)), not verdict.unexpected),
        (
            "recovered (unknown outcome, present)",
            f"{len(verdict.recovered)}"
            + (
                f" ({len(verdict.unknown_absent)} unknown, absent)"
                if verdict.unknown_absent
                else ""
            ),
            None,
        ),
        ("client-visible errors", _errors_text(verdict.errors), verdict.error_count == 0),
    ]
    for kind, what in (("plain", "each request once"), ("careful", "retrying")):
        errors = verdict.errors_by_client.get(kind, {})
        rows.append((f"errors, {kind} clients ({what})", _errors_text(errors), not errors))
    rows.append(("stale reads", *_stale_text(verdict)))
    rows.append(("writes by a non-primary", *_non_primary_text(verdict)))
    if verdict.fault_window is not None:
        start, end = verdict.fault_window
        rows.append(("fault window", f"{start:.1f}–{end:.1f} s", None))
        budget_ok = (
            None
            if verdict.stall_budget is None or verdict.stall_during_fault is None
            else verdict.stall_during_fault.seconds <= verdict.stall_budget
        )
        rows.append(("write stall (fault)", _stall_text(verdict.stall_during_fault), budget_ok))
    rows.append(("write stall (whole run)", _stall_text(verdict.stall), None))
    rows.extend(_stream_rows(verdict))
    if verdict.fault_window is not None:
        rows.append(
            (
                "read availability (fault)",
                _availability_text(verdict.read_availability, verdict.reads_during_fault),
                None,
            )
        )
        for kind, availability in verdict.read_availability_by_client.items():
            reads = verdict.reads_during_fault_by_client.get(kind, 0)
            text = _availability_text(availability, reads)
            rows.append((f"read availability (fault), {kind} clients", text, None))
    for phase, groups in verdict.latency.items():
        for group, latency in groups.items():
            rows.append((f"{group} p50 / p99 ({phase})", _latency_text(latency), None))
    return rows


def verdict_table(verdict: Verdict, title: str = "drill verdict") -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value, good in summary_rows(verdict):
        style = "" if good is None else ("green" if good else "red bold")
        table.add_row(label, f"[{style}]{escape_rich(value)}[/]" if style else escape_rich(value))
    for number, reason in enumerate(verdict.reasons):
        table.add_row("why" if number == 0 else "", f"[red]{escape_rich(reason)}[/]")
    return table


def escape_rich(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# -- run folder -----------------------------------------------------------------------------------


def write_run(folder: Path, history: History, verdict: Verdict) -> Path:
    """Write history.jsonl, verdict.json and report.html into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    history.write(folder / "history.jsonl")
    (folder / "verdict.json").write_text(
        json.dumps({"meta": history.meta, **verdict.to_dict()}, indent=2) + "\n",
        encoding="utf-8",
    )
    (folder / "report.html").write_text(render_html(history, verdict), encoding="utf-8")
    return folder


# -- HTML -----------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121;
       margin: 24px auto; max-width: 1140px; padding: 0 12px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.pass { color: #2e7d32; } .fail { color: #c62828; }
table { border-collapse: collapse; } td, th { padding: 3px 12px 3px 0; text-align: left;
        vertical-align: top; } th { font-weight: 600; color: #424242; }
.good { color: #2e7d32; } .bad { color: #c62828; font-weight: 600; }
.meta { color: #616161; } code { font-size: 12px; }
svg { display: block; margin: 4px 0 12px; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #424242; }
.legend span { display: inline-block; margin-right: 18px; }
"""


def render_html(history: History, verdict: Verdict) -> str:
    meta = history.meta
    fault = str(meta.get("fault", "none"))
    status = "PASS" if verdict.passed else "FAIL"
    rows = "".join(
        f'<tr><th>{escape(label)}</th><td class="{_css_class(good)}">{escape(value)}</td></tr>'
        for label, value, good in summary_rows(verdict)
    )
    if verdict.reasons:
        rows += f'<tr><th>why</th><td class="bad">{escape("; ".join(verdict.reasons))}</td></tr>'
    settings = " · ".join(
        f"{escape(str(k))} {escape(str(meta[k]))}"
        for k in (
            "url",
            "started_at",
            "duration",
            "fault_at",
            "fault_window",
            "clients",
            "plain_clients",
        )
        if meta.get(k) is not None
    )
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Aloft drill {escape(fault)}: {status}</title><style>{_CSS}</style></head><body>",
        f'<h1>Aloft drill · {escape(fault)} · <span class="{status.lower()}">{status}</span></h1>',
        f'<div class="meta">{settings}</div>',
        "<h2>Verdict</h2>",
        f"<table>{rows}</table>",
        "<h2>Latency of every operation</h2>",
        _legend(),
        latency_plot(history, verdict),
        "<h2>Acknowledged writes and errors per second</h2>",
        throughput_plot(history, verdict),
        _item_lists(verdict),
        "<h2>Events</h2>",
        _events_table(history),
        "</body></html>",
    ]
    return "\n".join(parts)


def _css_class(good: bool | None) -> str:
    return "" if good is None else ("good" if good else "bad")


def _legend() -> str:
    items = [
        f'<span><b style="color:{colour}">●</b> {outcome}</span>'
        for outcome, colour in COLOURS.items()
    ]
    items += [
        "<span>● post &nbsp;■ read_home &nbsp;▲ follow</span>",
        "<span>filled: careful client &nbsp;○ hollow: plain client</span>",
        '<span style="background:rgba(229,57,53,.15);padding:0 6px">fault window</span>',
        f'<span style="color:{LEADER_COLOUR}">┆ leader change</span>',
        f'<span style="color:{STALL_COLOUR}">━ longest write stall</span>',
    ]
    return f'<div class="legend">{"".join(items)}</div>'


class _Frame:
    """A plot area: maps seconds to x and a value to y, and draws the shared decorations."""

    def __init__(self, width: int, height: int, t_end: float, top: int = 26) -> None:
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = 64, 16, top, 34
        self.t_end = max(t_end, 1.0)

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    def x(self, t: float) -> float:
        return self.left + max(0.0, min(t, self.t_end)) / self.t_end * self.plot_width

    def time_axis(self) -> list[str]:
        out = [
            f'<line x1="{self.left}" y1="{self.plot_bottom}" x2="{self.width - self.right}" '
            f'y2="{self.plot_bottom}" stroke="#9e9e9e"/>'
        ]
        step = _nice_step(self.t_end / 12)
        t = 0.0
        while t <= self.t_end + 1e-9:
            x = self.x(t)
            out.append(
                f'<line x1="{x:.1f}" y1="{self.top}" x2="{x:.1f}" y2="{self.plot_bottom}" '
                'stroke="#eeeeee"/>'
                f'<text x="{x:.1f}" y="{self.plot_bottom + 16}" text-anchor="middle">'
                f"{t:g} s</text>"
            )
            t += step
        return out

    def fault(self, history: History, verdict: Verdict, label: bool = True) -> list[str]:
        if verdict.fault_window is None:
            return []
        start, end = verdict.fault_window
        x1, x2 = self.x(start), self.x(end)
        out = [
            f'<rect class="fault-window" x="{x1:.1f}" y="{self.top}" '
            f'width="{max(x2 - x1, 1):.1f}" height="{self.plot_bottom - self.top}" '
            'fill="#e53935" fill-opacity="0.12"/>'
        ]
        if label:
            out.append(
                f'<text x="{x1 + 4:.1f}" y="{self.top + 14}" fill="#c62828">'
                f"{escape(_fault_label(history))}</text>"
            )
        return out

    def leaders(self, history: History, label: bool) -> list[str]:
        """A dashed line per leader change; with `label`, its name above the plot, on the
        first of two rows where it does not overlap the previous label."""
        out = []
        row_ends = [-1e9, -1e9]  # where the last label of each row ends (x)
        for event in history.leader_changes():
            if event.time > self.t_end:
                break
            x = self.x(event.time)
            zone = event.detail.get("leader")
            text = f"leader {zone}" if zone else "no leader"
            row = 0 if x >= row_ends[0] + 6 else 1 if x >= row_ends[1] + 6 else 0
            top = self.top - 4 - 15 * (1 - row) if label else self.top
            out.append(
                f'<line class="leader-change" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                f'y2="{self.plot_bottom}" stroke="{LEADER_COLOUR}" stroke-dasharray="4 3">'
                f"<title>{escape(text)} at {event.time:.2f} s</title></line>"
            )
            if label:
                out.append(
                    f'<text x="{x + 3:.1f}" y="{top + 10}" fill="{LEADER_COLOUR}">'
                    f"{escape(text)}</text>"
                )
                row_ends[row] = x + 3 + 7 * len(text)
        return out

    def stall(self, stall: Stall | None, y: float, label: bool) -> list[str]:
        if stall is None or stall.seconds <= 0:
            return []
        x1, x2 = self.x(stall.start), self.x(stall.end)
        out = [
            f'<line class="stall" x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" '
            f'stroke="{STALL_COLOUR}" stroke-width="4"><title>longest write stall '
            f"{stall.seconds:.2f} s</title></line>"
        ]
        if label:
            out.append(
                f'<text x="{(x1 + x2) / 2:.1f}" y="{y + 16:.1f}" text-anchor="middle" '
                f'fill="{STALL_COLOUR}">write stall {stall.seconds:.1f} s</text>'
            )
        return out

    def svg(self, body: Iterable[str], name: str) -> str:
        return (
            f'<svg class="{name}" xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}">'
            + "".join(body)
            + "</svg>"
        )


def _time_end(history: History, verdict: Verdict) -> float:
    ends = [op.complete for op in history.operations]
    if verdict.fault_window is not None:
        ends.append(verdict.fault_window[1])
    return max(ends, default=1.0)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _fault_label(history: History) -> str:
    for event in history.events:
        if event.kind == FAULT_START:
            zone = event.detail.get("zone")
            return f"{event.detail.get('fault', 'fault')}" + (f" (zone {zone})" if zone else "")
    return "fault"


def _marker(op: Operation, x: float, y: float) -> str:
    colour = COLOURS[op.outcome]
    title = (
        f"<title>{op.kind} {op.outcome} {op.latency * 1000:.1f} ms at {op.invoke:.2f} s, "
        f"{op.client} client {op.process}, {op.attempts} attempt(s)"
        + (f": {escape(op.error)}" if op.error else "")
        + "</title>"
    )
    opacity = "0.55" if op.outcome == "ok" else "0.95"
    if op.client == "plain":  # hollow
        paint = f'fill="none" stroke="{colour}" stroke-opacity="{opacity}" stroke-width="1.2"'
    else:
        paint = f'fill="{colour}" fill-opacity="{opacity}"'
    common = f'class="op {op.outcome} {op.client}" {paint}'
    if op.kind == "post":
        return f'<circle {common} cx="{x:.1f}" cy="{y:.1f}" r="2.6">{title}</circle>'
    if op.kind == "follow":
        return (
            f'<path {common} d="M{x:.1f} {y - 3.5:.1f}L{x + 3.5:.1f} {y + 3:.1f}'
            f'L{x - 3.5:.1f} {y + 3:.1f}Z">{title}</path>'
        )
    return f'<rect {common} x="{x - 2:.1f}" y="{y - 2:.1f}" width="4" height="4">{title}</rect>'


def latency_plot(history: History, verdict: Verdict, width: int = 1100, height: int = 420) -> str:
    """Every operation at its invocation time, its latency on a log scale."""
    frame = _Frame(width, height, max(1, math.ceil(_time_end(history, verdict))), top=44)
    latencies = [max(op.latency, 1e-4) for op in history.operations]
    low = math.floor(math.log10(min(latencies, default=1e-3)))
    high = max(math.ceil(math.log10(max(latencies, default=1.0))), low + 1)
    top = frame.top + 52  # room for the fault and stall labels above the points

    def y(seconds: float) -> float:
        share = (math.log10(max(seconds, 1e-4)) - low) / (high - low)
        return frame.plot_bottom - share * (frame.plot_bottom - top)

    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    body += frame.fault(history, verdict)
    body += frame.time_axis()
    for power in range(low, high + 1):
        value = 10.0**power
        label = f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"
        body.append(
            f'<line x1="{frame.left}" y1="{y(value):.1f}" x2="{width - frame.right}" '
            f'y2="{y(value):.1f}" stroke="#eeeeee"/>'
            f'<text x="{frame.left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{label}</text>"
        )
    body.append(
        f'<text x="14" y="{(top + frame.plot_bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + frame.plot_bottom) / 2:.0f})">latency</text>'
    )
    order = {"ok": 0, "info": 1, "fail": 2}  # errors drawn last, on top
    for op in sorted(history.operations, key=lambda o: order[o.outcome]):
        body.append(_marker(op, frame.x(op.invoke), y(op.latency)))
    body += frame.leaders(history, label=True)
    body += frame.stall(verdict.stall_during_fault or verdict.stall, frame.top + 24, label=True)
    return frame.svg(body, "latency-plot")


def throughput_plot(
    history: History, verdict: Verdict, width: int = 1100, height: int = 200
) -> str:
    """Per one-second bucket (by completion time): acknowledged writes up, errors (fail and
    info, of any kind) down, each on its own scale."""
    buckets = max(1, math.ceil(_time_end(history, verdict)))
    frame = _Frame(width, height, buckets)
    acked = [0] * buckets
    errors = [0] * buckets
    for op in history.operations:
        index = min(int(op.complete), buckets - 1)
        if op.outcome == "ok" and op.is_write:
            acked[index] += 1
        elif op.outcome != "ok":
            errors[index] += 1
    # Scale to the usual rate, not to the burst of retried writes acknowledged all at once
    # when a stall ends: bars above the scale are cut and carry their number.
    usual = sorted(a for a in acked if a) or [1]
    peak = min(max([*acked, 1]), max(1, 2 * usual[len(usual) // 2]))
    error_peak = max(errors)
    has_errors = error_peak > 0
    zero = frame.top + (frame.plot_bottom - frame.top) * (0.7 if has_errors else 1.0)
    up = zero - frame.top
    down = frame.plot_bottom - zero
    bar = frame.plot_width / buckets
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    body += frame.fault(history, verdict, label=False)
    body += frame.time_axis()
    body.append(
        f'<text x="{frame.left - 6}" y="{frame.top + 4}" text-anchor="end">{peak}/s</text>'
        f'<text x="{frame.left - 6}" y="{zero + 4:.1f}" text-anchor="end">0</text>'
    )
    if has_errors:
        body.append(
            f'<text x="{frame.left - 6}" y="{frame.plot_bottom:.1f}" text-anchor="end" '
            f'fill="{COLOURS["fail"]}">{error_peak} err/s</text>'
        )
    for index in range(buckets):
        x = frame.x(index) + 0.5
        if acked[index]:
            h = min(acked[index] / peak, 1.0) * up
            if acked[index] > peak:
                body.append(
                    f'<text x="{x + bar / 2:.1f}" y="{frame.top - 4}" text-anchor="middle">'
                    f"{acked[index]}</text>"
                )
            body.append(
                f'<rect class="acked" x="{x:.1f}" y="{zero - h:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="{COLOURS["ok"]}">'
                f"<title>{index}–{index + 1} s: {acked[index]} writes acknowledged</title></rect>"
            )
        if errors[index] and has_errors:
            h = errors[index] / error_peak * down
            body.append(
                f'<rect class="errors" x="{x:.1f}" y="{zero:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="{COLOURS["fail"]}">'
                f"<title>{index}–{index + 1} s: {errors[index]} errors</title></rect>"
            )
    body.append(
        f'<line x1="{frame.left}" y1="{zero:.1f}" x2="{width - frame.right}" '
        f'y2="{zero:.1f}" stroke="#9e9e9e"/>'
    )
    body += frame.leaders(history, label=False)
    body += frame.stall(verdict.stall_during_fault or verdict.stall, frame.top + 2, label=False)
    return frame.svg(body, "throughput-plot")


def _item_lists(verdict: Verdict) -> str:
    stale = verdict.stale_reads or {}
    named: list[tuple[str, list[Any], int | None]] = [
        ("Lost (acknowledged, missing)", verdict.lost, None),
        (
            "Duplicated (one key, several statuses)",
            [f"{key}: {', '.join(ids)}" for key, ids in verdict.duplicated.items()],
            None,
        ),
        ("Unexpected (present, never attempted or refused)", verdict.unexpected, None),
        ("Recovered (unknown outcome, present)", verdict.recovered, None),
        (
            "Stale reads: the client's own post missing",
            verdict.stale_read_examples.get(READ_YOUR_WRITES, []),
            stale.get(READ_YOUR_WRITES),
        ),
        (
            "Stale reads: a post shown before missing",
            verdict.stale_read_examples.get(MONOTONIC, []),
            stale.get(MONOTONIC),
        ),
        (
            "Writes acknowledged by a server that did not lead",
            verdict.writes_by_non_primary_examples,
            verdict.writes_by_non_primary,
        ),
    ]
    sections = []
    for title, items, total in named:
        if not items:
            continue
        count = len(items) if total is None else total
        shown = "".join(f"<li><code>{escape(str(i))}</code></li>" for i in items[:LIST_LIMIT])
        hidden = count - min(len(items), LIST_LIMIT)
        more = f"<li>… and {hidden} more</li>" if hidden > 0 else ""
        sections.append(f"<h2>{escape(title)}: {count}</h2><ul>{shown}{more}</ul>")
    return "".join(sections)


def _events_table(history: History) -> str:
    # Each update the streaming client received is an event too: the summary has them.
    events = [e for e in history.events if e.kind != STREAM]
    if not events:
        return '<p class="meta">none (no fault, no cluster to watch)</p>'
    rows = []
    for event in events:
        cls = ' class="bad"' if event.kind == FAULT_ERROR else ""
        detail = ", ".join(f"{k}={v}" for k, v in event.detail.items())
        rows.append(
            f"<tr{cls}><td>{event.time:.2f} s</td><td>{escape(event.kind)}</td>"
            f"<td>{escape(detail)}</td></tr>"
        )
    return f"<table><tr><th>time</th><th>event</th><th>detail</th></tr>{''.join(rows)}</table>"
