"""A self-contained HTML report of a load run: tables and inline SVG charts, no external assets.

Charts: P95 latency per second of the measured window (by due time) per operation, and the
latency distribution (percentile spectrum, HdrHistogram style: 50 % to 99.99 % on a log scale).
"""

from __future__ import annotations

import html
import math
from typing import Any

from opsctl.gates.interface import GateResult
from opsctl.load.histograms import RunData

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, PAD = 760, 300, 50
RIGHT = WIDTH - 40  # room for the last tick label
SPECTRUM = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99)


def _x_spectrum(percentile: float) -> float:
    return math.log10(1.0 / (1.0 - min(percentile, 99.99) / 100.0))  # 0 .. 4


def _polyline(points: list[tuple[float, float]], color: str) -> str:
    text = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{text}"/>'


def _axes(x_label: str, y_label: str, y_max: float, x_ticks: list[tuple[float, str]]) -> str:
    parts = [
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{RIGHT}" y2="{HEIGHT - PAD}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="10" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
        f"{html.escape(x_label)}</text>",
        f'<text x="12" y="{HEIGHT / 2}" transform="rotate(-90 12 {HEIGHT / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = HEIGHT - PAD - (HEIGHT - PAD - 10) * i / 4
        parts.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.0f}</text>')
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{RIGHT}" y2="{y:.1f}" stroke="#eee"/>')
    for x, label in x_ticks:
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
        )
    return "".join(parts)


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high <= low:
        return out_low
    return out_low + (value - low) / (high - low) * (out_high - out_low)


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<span style="color:{COLORS[i % len(COLORS)]}">&#9632; {html.escape(name)}</span> '
        for i, name in enumerate(names)
    )
    return f'<p class="legend">{items}</p>'


def latency_over_time_svg(data: RunData) -> str:
    """P95 per second (by due time) of each operation across the measured window."""
    names = sorted(data.operations)
    series = {
        name: sorted(
            (second, float(stats.latency_ms.get_value_at_percentile(95)))
            for second, stats in data.operations[name].series.items()
            if stats.latency_ms.get_total_count()
        )
        for name in names
    }
    values = [v for points in series.values() for _, v in points]
    seconds = [s for points in series.values() for s, _ in points]
    if not values:
        return "<p>No samples.</p>"
    y_max = max(values) * 1.1 or 1.0
    x_low, x_high = min(seconds), max(max(seconds), min(seconds) + 1)
    plot = [
        _axes(
            "second of the run (by due time)",
            "P95 latency (ms)",
            y_max,
            [
                (_scale(s, x_low, x_high, PAD, RIGHT), str(s))
                for s in range(x_low, x_high + 1, max(1, (x_high - x_low) // 10))
            ],
        )
    ]
    for i, name in enumerate(names):
        points = [
            (_scale(s, x_low, x_high, PAD, RIGHT), _scale(v, 0, y_max, HEIGHT - PAD, 10))
            for s, v in series[name]
        ]
        plot.append(_polyline(points, COLORS[i % len(COLORS)]))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="latency over time">{"".join(plot)}</svg>{_legend(names)}'
    )


def distribution_svg(data: RunData) -> str:
    """Percentile spectrum of each operation's latency (from the exact HDR histograms)."""
    names = sorted(data.operations)
    steps = [100.0 * (1.0 - 10.0 ** (-4.0 * i / 60)) for i in range(61)]  # 0 .. 99.99 %
    curves: dict[str, list[tuple[float, float]]] = {}
    for name in names:  # successful responses only: an operation that always failed has none
        spectrum = [(p, data.operations[name].percentile_ms(p)) for p in steps]
        if all(value is not None for _, value in spectrum):
            curves[name] = [(p, value) for p, value in spectrum if value is not None]
    values = [v for points in curves.values() for _, v in points]
    if not values:
        return "<p>No samples.</p>"
    y_max = max(values) * 1.1 or 1.0
    x_high = _x_spectrum(99.99)
    ticks = [(_scale(_x_spectrum(p), 0, x_high, PAD, RIGHT), f"{p:g}%") for p in SPECTRUM]
    plot = [_axes("percentile", "latency (ms)", y_max, ticks)]
    for name in curves:
        points = [
            (
                _scale(_x_spectrum(p), 0, x_high, PAD, RIGHT),
                _scale(v, 0, y_max, HEIGHT - PAD, 10),
            )
            for p, v in curves[name]
        ]
        plot.append(_polyline(points, COLORS[names.index(name) % len(COLORS)]))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="latency distribution">{"".join(plot)}</svg>'
        f"{_legend(list(curves))}"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "<td>–</td>"
    if isinstance(value, float):
        return f"<td>{value:,.2f}</td>"
    if isinstance(value, list):
        return f"<td>{html.escape(', '.join(map(str, value)))}</td>"
    return f"<td>{html.escape(str(value))}</td>"


COLUMNS = (
    ("operation", "operation"),
    ("tags", "tags"),
    ("count", "n"),
    ("successes", "ok"),
    ("rate", "rate/s"),
    ("p50_ms", "P50 ms"),
    ("p95_ms", "P95 ms"),
    ("p99_ms", "P99 ms"),
    ("max_ms", "max ms"),
    ("p95_sent_ms", "P95 from send ms"),
    ("server_p95_ms", "server P95 ms"),
    ("error_rate", "error rate"),
    ("sla_p95_ms", "SLA P95 ms"),
    ("verdict", "verdict"),
)


def render_html(result: GateResult, data: RunData, *, title: str) -> str:
    """The whole report page."""
    rows = "".join(
        "<tr>" + "".join(_cell(row.get(key)) for key, _ in COLUMNS) + "</tr>"
        for row in result.details.get("operations", [])
    )
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    run = result.details.get("run", {})
    run_rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v)}</tr>" for k, v in run.items())
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in result.reasons)
    findings = "".join(f"<li>{html.escape(f.message)}</li>" for f in result.findings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f4f4f4; }} svg text {{ font-size: 11px; }}
.status {{ font-size: 1.4em; font-weight: bold; }}
.passed {{ color: #2a7d2a; }} .failed {{ color: #c62828; }} .incomplete {{ color: #b26a00; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="status {result.status.value}">{html.escape(result.status.value.upper())}:
{html.escape(result.summary)}</p>
<ul>{reasons}{findings}</ul>
<p>{html.escape(str(result.details.get("latency_definition", "")))}.
{html.escape(str(result.details.get("server_side", "")))}</p>
<h2>Operations (measured window)</h2>
<table><tr>{header}</tr>{rows}</table>
<h2>Latency over time (P95 per second, successful responses)</h2>
{latency_over_time_svg(data)}
<h2>Latency distribution (successful responses)</h2>
{distribution_svg(data)}
<h2>Run</h2>
<table>{run_rows}</table>
</body></html>
"""
