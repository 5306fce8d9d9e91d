"""A benchmark for people: a table on the terminal, a Markdown table, and one HTML page.

Everything here is drawn from the record `bench.json` holds (`aloft.bench.run.Record`),
so a saved run can be drawn again. The page is self-contained (inline SVG, no script, no
external asset), in the house style of the drill reports: throughput and latency per
endpoint at the reference concurrency, next to the bare route; latency against
concurrency; and cost against data size when several sizes ran.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from rich.table import Table

REFERENCE_CONNECTIONS = 16
PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457")
Run = dict[str, Any]


def run_name(run: Run) -> str:
    if run.get("size") is None:
        return str(run["engine"])
    follows = run["size"].get("reader_follows", 50)
    also = f", reader follows {follows:,}" if follows != 50 else ""
    return f"{run['engine']} · {run['size']['statuses']:,} statuses{also}"


def reference_connections(record: dict[str, Any]) -> int:
    """16 connections if measured (the issue's targets are at 16), else the most."""
    measured = record["meta"].get("connections") or [REFERENCE_CONNECTIONS]
    return REFERENCE_CONNECTIONS if REFERENCE_CONNECTIONS in measured else max(measured)


def _ceiling(run: Run, connections: int) -> dict[str, Any] | None:
    return next((c for c in run["ceiling"] if c["connections"] == connections), None)


def _rows(record: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(endpoint, label, connections) in the order measured, each once."""
    seen: dict[tuple[str, int], str] = {}
    for run in record["runs"]:
        for m in run["measurements"]:
            seen.setdefault((m["endpoint"], m["connections"]), m["label"])
    order = {name: i for i, name in enumerate(record["meta"].get("endpoints", []))}
    keys = sorted(seen, key=lambda k: (order.get(k[0], 99), k[1]))
    return [(name, seen[(name, c)], c) for name, c in keys]


def _find(run: Run, endpoint: str, connections: int) -> dict[str, Any] | None:
    return next(
        (
            m
            for m in run["measurements"]
            if m["endpoint"] == endpoint and m["connections"] == connections
        ),
        None,
    )


def _n(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _cpu(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


COLUMNS = ("req/s", "p50 ms", "p99 ms", "bare req/s", "of bare", "CPU ms", "failed", "load")


def cells(m: dict[str, Any] | None) -> list[str]:
    """One measurement's figures, in COLUMNS order."""
    if m is None:
        return ["–"] * len(COLUMNS)
    return [
        _n(m.get("rps")),
        _ms(m.get("p50_ms")),
        _ms(m.get("p99_ms")),
        _n(m.get("ceiling_rps")),
        _pct(m.get("ratio")),
        _cpu(m.get("cpu_ms")),
        str(m.get("failed", "–")),
        "–" if m.get("loadavg") is None else f"{m['loadavg']:.1f}",
    ]


def verdict_line(record: dict[str, Any]) -> str:
    failed = record.get("failed_requests", 0)
    total = record.get("requests", 0)
    if record.get("all_succeeded"):
        return f"every request succeeded ({total:,} requests)"
    return f"{failed:,} of {total:,} requests failed (HTTP status ≥ 400 or socket errors)"


def load_line(record: dict[str, Any]) -> str:
    meta = record["meta"]

    def fmt(values: Sequence[float] | None) -> str:
        return " ".join(f"{v:.2f}" for v in values) if values else "?"

    return (
        f"load average {fmt(meta.get('loadavg_start'))} at the start, "
        f"{fmt(meta.get('loadavg_end'))} at the end, on {meta.get('cpus', '?')} CPUs"
    )


def _long_rows(record: dict[str, Any]) -> list[tuple[str, int, Run, dict[str, Any] | None]]:
    """(label, connections, run, measurement) for every endpoint, connection count and run."""
    return [
        (label, connections, run, _find(run, endpoint, connections))
        for endpoint, label, connections in _rows(record)
        for run in record["runs"]
        if endpoint not in (run.get("skipped") or [])
    ]


def table(record: dict[str, Any]) -> Table:
    """The terminal table: one row per endpoint, connection count and run (engine and
    size), with the bare route measured next to that run and the ratio to it."""
    meta = record["meta"]
    out = Table(
        title=(
            f"aloft bench · {meta.get('workers')} workers · {meta.get('duration'):g} s each · "
            f"{load_line(record)}"
        ),
        title_justify="left",
    )
    out.caption = (
        "CPU ms: the server's CPU time per request (app and database processes); "
        "load: the 1-minute load average when the measurement ended"
    )
    out.add_column("endpoint", no_wrap=True)
    out.add_column("conns", justify="right")
    out.add_column("run", no_wrap=True)
    for column in COLUMNS:
        out.add_column(column, justify="right")
    previous = None
    for label, connections, run, m in _long_rows(record):
        values = cells(m)
        if m is not None and m.get("failed"):
            values[6] = f"[red bold]{values[6]}[/]"
        first = (label, connections) != previous
        out.add_row(
            label if first else "",
            str(connections) if first else "",
            run_name(run),
            *values,
            end_section=False,
        )
        previous = (label, connections)
    return out


MD_COLUMNS = ("req/s", "p50 / p99 ms", "of bare", "CPU ms")


def markdown(record: dict[str, Any]) -> str:
    """The figures in Markdown, engines side by side as in issue 11 (for notes and issues);
    the bare route's own req/s per run in the last columns."""
    runs = record["runs"]
    head = ["endpoint", "conns"]
    for run in runs:
        head += [f"{run_name(run)} {c}" for c in MD_COLUMNS]
    head += [f"bare route req/s ({run_name(run)} run)" for run in runs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for endpoint, label, connections in _rows(record):
        row = [label, str(connections)]
        for run in runs:
            m = _find(run, endpoint, connections)
            if m is None:
                row += ["–"] * len(MD_COLUMNS)
                continue
            failed = f" ({m['failed']} failed)" if m.get("failed") else ""
            row += [
                _n(m.get("rps")) + failed,
                f"{_ms(m.get('p50_ms'))} / {_ms(m.get('p99_ms'))}",
                _pct(m.get("ratio")),
                _cpu(m.get("cpu_ms")),
            ]
        for run in runs:
            bare = _ceiling(run, connections)
            row.append(_n(bare.get("rps")) if bare else "–")
        lines.append("| " + " | ".join(row) + " |")
    memory = [
        f"{run_name(run)}: {', '.join(f'{x:.0f}' for x in run['memory_mb'])} MB"
        for run in runs
        if run.get("memory_mb")
    ]
    lines += ["", f"{verdict_line(record)}; {load_line(record)}."]
    if memory:
        lines.append("Resident memory per worker at the end: " + "; ".join(memory) + ".")
    return "\n".join(lines) + "\n"


# -- SVG ------------------------------------------------------------------------------------------


def _svg(name: str, width: int, height: int, body: Iterable[str], label: str) -> str:
    return (
        f'<svg class="{name}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(body)
        + "</svg>"
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def bar_plot(
    groups: Sequence[tuple[str, Sequence[tuple[str, float | None, str]]]],
    unit: str,
    name: str,
    width: int = 1000,
) -> str:
    """Horizontal bars: for each group (an endpoint) one bar per series (label, value,
    colour), on one linear scale from 0."""
    label_width, bar, gap, top = 260, 14, 12, 24
    count = sum(len(series) for _, series in groups)
    height = top + count * bar + len(groups) * gap + 34
    values = [v for _, series in groups for _, v, _ in series if v is not None]
    most = _nice_max(max(values, default=1.0))
    scale = (width - label_width - 90) / most
    body = []
    for i in range(5):
        tick = most * i / 4
        x = label_width + tick * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" '
            'stroke="#eeeeee"/>'
            f'<text x="{x:.1f}" y="{height - 14}" text-anchor="middle">{tick:,.4g} {unit}</text>'
        )
    y = top
    for group, series in groups:
        body.append(
            f'<text x="{label_width - 10}" y="{y + bar * len(series) / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(group)}</text>'
        )
        for label, value, colour in series:
            w = 0.0 if value is None else value * scale
            text = "–" if value is None else f"{value:,.4g}"
            body.append(
                f'<rect class="bar" x="{label_width}" y="{y}" width="{max(w, 0.5):.1f}" '
                f'height="{bar - 2}" fill="{colour}"><title>{escape(group)} · {escape(label)}: '
                f"{text} {unit}</title></rect>"
                f'<text x="{label_width + w + 4:.1f}" y="{y + bar - 4}">{text}</text>'
            )
            y += bar
        y += gap
    return _svg(name, width, height, body, f"{name} ({unit})")


def line_plot(
    series: Sequence[tuple[str, str, bool, Sequence[tuple[float, float]]]],
    x_label: str,
    y_label: str,
    name: str,
    width: int = 480,
    height: int = 260,
    title: str = "",
) -> str:
    """Lines on log-log axes: series of (label, colour, dashed, [(x, y)…])."""
    left, right, top, bottom = 60, 12, 26, 40
    xs = [x for _, _, _, pts in series for x, _ in pts if x > 0]
    ys = [y for _, _, _, pts in series for _, y in pts if y > 0]
    x_low, x_high = math.log10(min(xs, default=1)), math.log10(max(xs, default=10))
    if x_high - x_low < 1e-9:
        x_low, x_high = x_low - 0.5, x_high + 0.5
    y_low = math.floor(math.log10(min(ys, default=0.1)))
    y_high = max(math.ceil(math.log10(max(ys, default=10))), y_low + 1)

    def px(x: float) -> float:
        share = (math.log10(x) - x_low) / (x_high - x_low)
        return left + share * (width - left - right)

    def py(y: float) -> float:
        share = (math.log10(max(y, 10.0**y_low)) - y_low) / (y_high - y_low)
        return height - bottom - share * (height - top - bottom)

    body = [f'<text x="{left}" y="16" font-weight="600">{escape(title)}</text>']
    for power in range(y_low, y_high + 1):
        value = 10.0**power
        body.append(
            f'<line x1="{left}" y1="{py(value):.1f}" x2="{width - right}" y2="{py(value):.1f}" '
            'stroke="#eeeeee"/>'
            f'<text x="{left - 6}" y="{py(value) + 4:.1f}" text-anchor="end">{value:g}</text>'
        )
    for x in sorted(set(xs)):
        body.append(
            f'<line x1="{px(x):.1f}" y1="{top}" x2="{px(x):.1f}" y2="{height - bottom}" '
            'stroke="#eeeeee"/>'
            f'<text x="{px(x):.1f}" y="{height - bottom + 14}" text-anchor="middle">'
            f"{x:,.0f}</text>"
        )
    body.append(
        f'<text x="{(left + width) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{(top + height - bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + height - bottom) / 2:.0f})">{escape(y_label)}</text>'
    )
    for label, colour, dashed, pts in series:
        points = [(x, y) for x, y in pts if x > 0 and y > 0]
        if not points:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        body.append(
            f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dash}><title>{escape(label)}</title></polyline>'
        )
        for x, y in points:
            body.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(label)}: {y:,.4g} at {x:,.0f}</title></circle>"
            )
    return _svg(name, width, height, body, title or name)


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _legend(record: dict[str, Any]) -> str:
    items = [
        f'<span><b style="color:{_colour(i)}">■</b> {escape(run_name(run))}</span>'
        for i, run in enumerate(record["runs"])
    ]
    return f'<div class="legend">{"".join(items)}</div>'


def throughput_plot(record: dict[str, Any], connections: int) -> str:
    """Requests per second per endpoint, a bar per run."""
    groups = []
    for endpoint, label, c in _rows(record):
        if c != connections:
            continue
        series = []
        for i, run in enumerate(record["runs"]):
            m = _find(run, endpoint, c)
            if m is not None:
                series.append((run_name(run), m.get("rps"), _colour(i)))
        groups.append((label, series))
    return bar_plot(groups, "req/s", "throughput")


def share_plot(record: dict[str, Any], connections: int) -> str:
    """Each endpoint's requests per second as a share of the bare route measured next to
    it, in per cent."""
    groups = []
    for endpoint, label, c in _rows(record):
        if c != connections:
            continue
        series = []
        for i, run in enumerate(record["runs"]):
            m = _find(run, endpoint, c)
            if m is not None:
                ratio = m.get("ratio")
                series.append((run_name(run), None if ratio is None else ratio * 100, _colour(i)))
        groups.append((label, series))
    return bar_plot(groups, "%", "share")


def latency_plot(record: dict[str, Any], connections: int) -> str:
    groups = []
    for endpoint, label, c in _rows(record):
        if c != connections:
            continue
        series = []
        for i, run in enumerate(record["runs"]):
            m = _find(run, endpoint, c)
            if m is not None:
                series.append((f"{run_name(run)} p50", m.get("p50_ms"), _colour(i)))
                series.append((f"{run_name(run)} p99", m.get("p99_ms"), _colour(i) + "88"))
        groups.append((label, series))
    return bar_plot(groups, "ms", "latency")


def concurrency_plots(record: dict[str, Any]) -> str:
    """Per endpoint: p99 (solid) and p50 (dashed) against connections, a line per run."""
    plots = []
    endpoints = dict.fromkeys((e, label) for e, label, _ in _rows(record))
    for endpoint, label in endpoints:
        series = []
        for i, run in enumerate(record["runs"]):
            points = sorted(
                (m["connections"], m) for m in run["measurements"] if m["endpoint"] == endpoint
            )
            if not points:
                continue
            series.append(
                (f"{run_name(run)} p99", _colour(i), False, [(c, m["p99_ms"]) for c, m in points])
            )
            series.append(
                (f"{run_name(run)} p50", _colour(i), True, [(c, m["p50_ms"]) for c, m in points])
            )
        plots.append(line_plot(series, "connections", "latency (ms)", "concurrency", title=label))
    return "".join(plots)


def size_plots(record: dict[str, Any], connections: int) -> str:
    """Per endpoint: p50 latency against the number of statuses, a line per engine (only
    when more than one size ran)."""
    sizes = {run["size"]["statuses"] for run in record["runs"] if run.get("size")}
    if len(sizes) < 2:
        return ""
    engines = list(dict.fromkeys(run["engine"] for run in record["runs"] if run.get("size")))
    plots = []
    endpoints = dict.fromkeys((e, label) for e, label, _ in _rows(record))
    for endpoint, label in endpoints:
        series = []
        for i, engine in enumerate(engines):
            points = []
            for run in record["runs"]:
                if run["engine"] != engine or not run.get("size"):
                    continue
                m = _find(run, endpoint, connections)
                if m is not None:
                    points.append((run["size"]["statuses"], m["p50_ms"]))
            series.append((f"{engine} p50", _colour(i), False, sorted(points)))
        plots.append(line_plot(series, "statuses", "p50 latency (ms)", "size", title=label))
    return "".join(plots)


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121;
       margin: 24px auto; max-width: 1300px; padding: 0 12px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
table { border-collapse: collapse; } td, th { padding: 3px 10px 3px 0; text-align: right; }
td:nth-child(-n+3), th:nth-child(-n+3) { text-align: left; }
tr.first td { border-top: 1px solid #e0e0e0; } th { font-weight: 600; color: #424242; }
.good { color: #2e7d32; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
.meta { color: #616161; } .warn { color: #ef6c00; }
svg { display: inline-block; margin: 4px 8px 12px 0; vertical-align: top; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; fill: #424242; }
.legend span { display: inline-block; margin-right: 18px; }
"""


def _html_table(record: dict[str, Any]) -> str:
    head = "<tr><th>endpoint</th><th>conns</th><th>run</th>" + "".join(
        f"<th>{escape(c)}</th>" for c in COLUMNS
    )
    rows = []
    previous = None
    for label, connections, run, m in _long_rows(record):
        tds = []
        for column, value in zip(COLUMNS, cells(m), strict=True):
            bad = column == "failed" and m is not None and m.get("failed")
            tds.append(f'<td class="{"bad" if bad else ""}">{escape(value)}</td>')
        first = (label, connections) != previous
        previous = (label, connections)
        rows.append(
            f'<tr class="{"first" if first else ""}"><td>{escape(label) if first else ""}</td>'
            f"<td>{connections if first else ''}</td><td>{escape(run_name(run))}</td>"
            f"{''.join(tds)}</tr>"
        )
    return f"<table>{head}</tr>{''.join(rows)}</table>"


def _runs_table(record: dict[str, Any]) -> str:
    rows = []
    for run in record["runs"]:
        memory = ", ".join(f"{x:.0f}" for x in run.get("memory_mb", [])) or "–"
        load = " → ".join(
            " ".join(f"{v:.2f}" for v in run.get(k) or []) for k in ("loadavg_start", "loadavg_end")
        )
        skipped = ", ".join(run.get("skipped") or []) or "–"
        rows.append(
            f"<tr><td>{escape(run_name(run))}</td><td>{run.get('seed_seconds', 0):.1f} s</td>"
            f"<td>{escape(memory)} MB</td><td>{escape(load)}</td><td>{escape(skipped)}</td></tr>"
        )
    return (
        "<table><tr><th>run</th><th>seeding</th><th>resident memory per worker (end)</th>"
        f"<th>load average</th><th>not measured</th></tr>{''.join(rows)}</table>"
    )


def render_html(record: dict[str, Any]) -> str:
    meta = record["meta"]
    connections = reference_connections(record)
    ok = bool(record.get("all_succeeded"))
    settings = " · ".join(
        escape(f"{label} {meta.get(key)}")
        for label, key in (
            ("started", "started_at"),
            ("aloft", "aloft"),
            ("commit", "commit"),
            ("workers", "workers"),
            ("seconds per measurement", "duration"),
            ("warm-up", "warmup"),
            ("wrk threads", "wrk_threads"),
            ("", "wrk"),
        )
        if meta.get(key) is not None
    )
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Aloft bench{' (quick)' if meta.get('quick') else ''}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Aloft bench{' · quick' if meta.get('quick') else ''}</h1>",
        f'<div class="meta">{settings}</div>',
        f'<p class="{"good" if ok else "bad"}" id="verdict">{escape(verdict_line(record))}</p>',
        f'<p class="warn">{escape(load_line(record))}. {escape(meta.get("note", ""))}</p>',
        "<h2>All figures</h2>",
        '<p class="meta">Each engine\'s figures with the bare Starlette route measured next to '
        "them (same uvicorn, same workers, same connections) and the share of it reached; "
        "load is the machine's 1-minute load average when the measurement ended.</p>",
        _html_table(record),
        "<h2>Runs</h2>",
        _runs_table(record),
        f"<h2>Throughput per endpoint, {connections} connections</h2>",
        _legend(record),
        throughput_plot(record, connections),
        f"<h2>Share of the bare route, {connections} connections</h2>",
        '<p class="meta">Requests per second as a share of the bare Starlette route measured '
        "in the same run at the same concurrency.</p>",
        share_plot(record, connections),
        f"<h2>Latency per endpoint, {connections} connections (p50, and p99 lighter)</h2>",
        latency_plot(record, connections),
        "<h2>Latency against concurrency (p99 solid, p50 dashed)</h2>",
        _legend(record),
        concurrency_plots(record),
    ]
    by_size = size_plots(record, connections)
    if by_size:
        parts += [
            f"<h2>Cost against data size (p50 at {connections} connections)</h2>",
            by_size,
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _index(record: dict[str, Any]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    out = {}
    for run in record["runs"]:
        for m in run["measurements"]:
            out[(run_name(run), m["endpoint"], m["label"], m["connections"])] = m
    return out


def compare_table(before: dict[str, Any], after: dict[str, Any]) -> Table:
    """Every (engine and size, endpoint, connections) measured in both records: req/s and
    p99 before and after, and the change; each record's ratio to its own bare route."""
    out = Table(
        title=f"before: {load_line(before)}\nafter:  {load_line(after)}", title_justify="left"
    )
    for column in (
        "run",
        "endpoint",
        "conns",
        "req/s before",
        "req/s after",
        "change",
        "p99 before",
        "p99 after",
        "of bare before",
        "of bare after",
    ):
        out.add_column(column, justify="left" if column in ("run", "endpoint") else "right")
    old, new = _index(before), _index(after)
    for key in [k for k in new if k in old]:
        a, b = old[key], new[key]
        change = (b["rps"] / a["rps"] - 1) if a.get("rps") else None
        style = (
            ""
            if change is None
            else ("green" if change > 0.05 else "red" if change < -0.05 else "")
        )
        text = "–" if change is None else f"{change * 100:+.0f} %"
        out.add_row(
            key[0],
            key[2],
            str(key[3]),
            _n(a.get("rps")),
            _n(b.get("rps")),
            f"[{style}]{text}[/]" if style else text,
            _ms(a.get("p99_ms")),
            _ms(b.get("p99_ms")),
            _pct(a.get("ratio")),
            _pct(b.get("ratio")),
        )
    return out
