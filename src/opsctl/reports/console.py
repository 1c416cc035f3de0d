"""The terminal summary of a run: one table, then what to fix for each gate that did not pass."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from opsctl.gates.interface import Severity, Status
from opsctl.reports.interface import VerifyRun

STYLES = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.INCOMPLETE: "yellow",
    Status.SKIPPED: "dim",
}
MAX_LINES_PER_GATE = 10


class RunSummary:
    """Renders a :class:`VerifyRun` for people (the reports are for machines and PRs)."""

    def __init__(self, run: VerifyRun) -> None:
        self.run = run.masked()  # a terminal is a log too: CI keeps it

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title="opsctl verify", title_justify="left")
        for column in ("Gate", "Result", "Time", "Summary"):
            table.add_column(column, overflow="fold")
        for result in self.run.results:
            table.add_row(
                result.gate,
                Text(result.status.value, style=STYLES[result.status]),
                f"{result.duration_s:.1f}s",
                result.summary,
            )
        yield table
        for result in self.run.results:
            if result.status in (Status.PASSED, Status.SKIPPED):
                continue
            lines = [f"  why: {reason}" for reason in result.reasons]
            for finding in result.findings:
                if finding.severity is Severity.NOTE or finding.accepted:
                    continue
                where = f"{finding.file}:{finding.line}: " if finding.file and finding.line else ""
                where = where or (f"{finding.file}: " if finding.file else "")
                lines.append(f"  {where}{finding.message}")
            if lines:
                yield Text(f"{result.gate} ({result.status.value}):", style=STYLES[result.status])
                shown = lines[:MAX_LINES_PER_GATE]
                if len(lines) > MAX_LINES_PER_GATE:
                    shown.append(f"  … {len(lines) - MAX_LINES_PER_GATE} more in the reports")
                yield Text("\n".join(shown))
        for note in self.run.notes:
            yield Text(note, style="yellow")
        verdict = {0: "passed", 1: "FAILED", 3: "INCOMPLETE (could not judge everything)"}
        code = int(self.run.exit_code)
        problems = self.run.problems
        if problems and code == 3:
            verdict[3] = f"INCOMPLETE ({'; '.join(problems)})"
        yield Text(f"verify {verdict[code]} (exit {code})", style="bold")
