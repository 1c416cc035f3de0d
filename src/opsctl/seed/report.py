"""How seed results look: Rich renderables for a run, a dry run, and the live progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from opsctl.seed.engine import AlreadySeeded, DryRun, SeedOptions, SeedResult


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe(options: SeedOptions) -> str:
    scale = options.scale if isinstance(options.scale, int) else options.scale.value
    return (
        f"scale {scale}, seed {options.seed}, mode {options.mode.value}, "
        f"anchor date {options.anchor.isoformat()}"
    )


def render_already_seeded(skipped: AlreadySeeded) -> RenderableType:
    found = ", ".join(f"{name} {rows:,}" for name, rows in skipped.existing.items())
    return Text(
        f"Skipped: the plan's tables already hold rows ({found}); nothing was written. "
        "To start over: opsctl seed --mode replace"
    )


def render_result(result: SeedResult) -> RenderableType:
    table = Table(title=f"Seeded ({describe(result.options)})", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("COPY size", justify="right")
    table.add_column("removed first", justify="right")
    for load in result.tables:
        table.add_row(load.name, f"{load.rows:,}", human_bytes(load.bytes), f"{load.removed:,}")
    table.add_row(
        Text("total", style="bold"),
        f"{result.rows:,}",
        human_bytes(sum(load.bytes for load in result.tables)),
        f"{sum(load.removed for load in result.tables):,}",
    )
    summary = Text(
        f"{result.rows:,} rows in {result.load_seconds:.2f} s "
        f"({result.rows_per_second:,.0f} rows/s, one transaction, of which "
        f"{result.rebuild_seconds:.2f} s rebuilding keys and indexes); "
        f"ANALYZE {result.analyze_seconds:.2f} s"
    )
    fingerprint = Text.assemble(("fingerprint: ", "bold"), result.fingerprint)
    return Group(table, summary, fingerprint)


def render_dry_run(plan: DryRun) -> RenderableType:
    replacing = plan.options.mode.value == "replace"
    table = Table(
        title=f"Dry run, nothing written ({describe(plan.options)})", title_justify="left"
    )
    table.add_column("table (load order)")
    table.add_column("rows", justify="right")
    table.add_column("estimated size", justify="right")
    table.add_column("would remove" if replacing else "rows kept", justify="right")
    for item in plan.tables:
        table.add_row(
            item.name,
            f"{item.rows:,}",
            human_bytes(item.estimated_bytes),
            f"{item.existing_rows:,}",
        )
    table.add_row(
        Text("total", style="bold"),
        f"{plan.rows:,}",
        human_bytes(plan.estimated_bytes),
        f"{sum(item.existing_rows for item in plan.tables):,}",
    )
    notes: list[RenderableType] = [table]
    if replacing:
        notes.append(Text("replace empties only these tables; alembic_version is never touched"))
    for parent, children in sorted(plan.referencing_outside.items()):
        notes.append(
            Text(
                f"warning: {parent} is referenced by tables outside the plan: "
                f"{', '.join(children)}; replace would refuse",
                style="yellow",
            )
        )
    return Group(*notes)


class RowsPerSecondColumn(ProgressColumn):
    """Rows per second of the current table."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


class RichProgress:
    """A :class:`~opsctl.seed.engine.ProgressSink` that draws one bar per table."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    @classmethod
    def create(cls, console: object) -> RichProgress:
        progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            RowsPerSecondColumn(),
            TimeElapsedColumn(),
            console=console,  # type: ignore[arg-type]
            transient=False,
        )
        return cls(progress)

    def start_table(self, table: str, rows: int) -> None:
        self.task = self.progress.add_task(table, total=rows)

    def advance(self, rows: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, rows)
