"""Rich renderings of a run: the live table while it runs and the final per-operation table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from opsctl.load.histograms import RunData, new_latency_histogram
from opsctl.load.launcher import Progress


def _ms(histogram: HdrHistogram, percentile: float) -> str:
    """A percentile of the successful responses; a dash when none succeeded."""
    if not histogram.get_total_count():
        return "–"
    return f"{histogram.get_value_at_percentile(percentile) / 1000:.1f}"


@dataclass
class RunSummary:
    """The final table of ``opsctl load run``: numbers only, no verdict."""

    data: RunData
    problems: list[str]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        data = self.data
        table = Table(
            title=f"Load run: {data.achieved_rate:.1f}/s of {data.target_rate:g}/s "
            f"over {data.duration_s:g}s (warm-up {data.warmup_s:g}s excluded)"
        )
        for column in (
            "operation",
            "tags",
            "n",
            "rate/s",
            "P50 ms",
            "P95 ms",
            "P99 ms",
            "max ms",
            "P95 from send",
            "errors",
        ):
            table.add_column(column, justify="left" if column in ("operation", "tags") else "right")
        for name in sorted(data.operations):
            stats = data.operations[name]
            table.add_row(
                name,
                ",".join(sorted(stats.tags)),
                str(stats.count),
                f"{stats.count / data.duration_s:.1f}",
                _ms(stats.latency, 50),
                _ms(stats.latency, 95),
                _ms(stats.latency, 99),
                _ms(stats.latency, 100),
                _ms(stats.service, 95),
                f"{stats.errors} ({stats.error_rate:.1%})",
            )
        yield table
        yield (
            f"generator lag P99 {data.lag_p99_ms():.1f} ms; latency counted from when each "
            "request was due (open model), percentiles of the successful responses"
        )
        for problem in self.problems:
            yield f"[yellow]warning:[/] {problem}"


@dataclass
class LiveTable:
    """What the generators reported so far (cumulative histograms merged exactly)."""

    progress: Progress

    def rows(self) -> Iterator[tuple[str, int, int, HdrHistogram]]:
        merged: dict[str, tuple[int, int, HdrHistogram]] = {}
        for message in self.progress.per_worker.values():
            for name, counts in message.get("operations", {}).items():
                count, errors, histogram = merged.get(name, (0, 0, new_latency_histogram()))
                encoded = message.get("latency", {}).get(name)
                if encoded:
                    histogram.add(HdrHistogram.decode(encoded.encode("ascii")))
                merged[name] = (count + counts["count"], errors + counts["errors"], histogram)
        for name in sorted(merged):
            count, errors, histogram = merged[name]
            yield name, count, errors, histogram

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = max(
            (m.get("elapsed_s", 0.0) for m in self.progress.per_worker.values()), default=0.0
        )
        measuring = any(m.get("measuring") for m in self.progress.per_worker.values())
        phase = "measuring" if measuring else "warming up"
        table = Table(title=f"{elapsed:.0f}s, {phase}")
        for column in ("operation", "n", "errors", "P50 ms", "P95 ms", "P99 ms"):
            table.add_column(column, justify="left" if column == "operation" else "right")
        for name, count, errors, histogram in self.rows():
            table.add_row(
                name,
                str(count),
                str(errors),
                _ms(histogram, 50),
                _ms(histogram, 95),
                _ms(histogram, 99),
            )
        yield table
