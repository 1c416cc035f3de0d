"""Rich renderables for ``list``, ``show``, ``validate``, ``history`` and ``log``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from opsctl.errors import ConfigError
from opsctl.runbook.load import LoadedRunbook
from opsctl.runbook.model import HUMAN_TYPES
from opsctl.runbook.records import RunState
from opsctl.runbook.steps import type_for_kind
from opsctl.runbook.templating import ExpressionError, render


@dataclass
class RunbookList:
    runbooks: list[LoadedRunbook]
    broken: list[ConfigError]

    def __rich__(self) -> RenderableType:
        table = Table(title="runbooks", title_justify="left")
        table.add_column("name", no_wrap=True)
        table.add_column("summary", ratio=3)
        table.add_column("alerts", ratio=1)
        table.add_column("environments", ratio=1)
        table.add_column("steps", no_wrap=True)
        for item in self.runbooks:
            book = item.runbook
            mutating = sum(1 for s in book.steps if s.is_mutating)
            table.add_row(
                book.name,
                book.summary,
                ", ".join(book.alerts),
                ", ".join(book.environments) or "any",
                f"{len(book.steps)} ({mutating} mutating)",
            )
        parts: list[RenderableType] = [table]
        parts += [Text(f"invalid: {error}", style="red") for error in self.broken]
        return Group(*parts)


@dataclass
class RunbookShow:
    loaded: LoadedRunbook
    context: dict[str, Any]

    def __rich__(self) -> RenderableType:
        book = self.loaded.runbook
        lines: list[RenderableType] = [
            Text.from_markup(f"[bold]{escape(book.name)}[/] — {escape(book.summary)}"),
        ]
        if book.description:
            # YAML block text: keep paragraphs, let the terminal wrap the lines
            lines.append(Text(re.sub(r"(?<!\n)\n(?!\n)", " ", book.description.strip())))
        lines.append(
            Text(
                f"owners: {', '.join(book.owners)}   alerts: "
                f"{', '.join(book.alerts) or '-'}   environments: "
                f"{', '.join(book.environments) or 'any'}",
                style="dim",
            )
        )
        if book.params:
            params = Table(
                "param",
                "type",
                "required",
                "default",
                "description",
                title="parameters",
                title_justify="left",
            )
            for name, p in book.params.items():
                kind = f"enum({'|'.join(p.values or [])})" if p.type == "enum" else p.type
                params.add_row(
                    name,
                    kind,
                    "yes" if p.required else "",
                    "" if p.default is None else str(p.default),
                    p.description or "",
                )
            lines.append(params)
        if book.secrets:
            lines.append(
                Text("secrets: " + ", ".join(f"{k} ({v})" for k, v in book.secrets.items()))
            )
        steps = Table(
            "#", "step", "type", "mutates", "what it does", title="steps", title_justify="left"
        )
        for index, step in enumerate(book.steps, start=1):
            step_type = type_for_kind(step.kind, mutating=step.is_mutating)
            try:
                spec = type(step.spec).model_validate(
                    _render_lenient(step.spec.model_dump(by_alias=True), self.context)
                )
                what = step_type.describe(spec)
            except (ExpressionError, ValueError):
                what = step_type.describe(step.spec)
            extra = []
            if step.when:
                extra.append(f"when {step.when}")
            if step.timeout is not None:
                extra.append(f"timeout {step.timeout:g}s")
            if step.retry is not None:
                extra.append(f"retry x{step.retry.attempts}")
            if step.description:
                what = f"{' '.join(step.description.split())}\n{what}"
            if extra:
                what += f"\n({'; '.join(extra)})"
            mutates = (
                "[red]yes[/]"
                if step.is_mutating
                else ("human" if step.kind in HUMAN_TYPES else "no")
            )
            steps.add_row(str(index), step.id, step.kind, mutates, escape(what))
        lines.append(steps)
        return Group(*lines)


def _render_lenient(value: Any, context: dict[str, Any]) -> Any:
    """Render what can be rendered before a run; leave templates on later outputs as written."""
    if isinstance(value, dict):
        return {
            k: v if k in ("query", "command", "until", "fail_if") else _render_lenient(v, context)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_render_lenient(v, context) for v in value]
    try:
        return render(value, context)
    except ExpressionError:
        return value


@dataclass
class ValidationReport:
    checked: list[tuple[str, list[ConfigError]]]

    def __rich__(self) -> RenderableType:
        lines: list[RenderableType] = []
        for display, problems in self.checked:
            if not problems:
                lines.append(Text.from_markup(f"[green]✓[/] {escape(display)}"))
            for problem in problems:
                lines.append(Text.from_markup(f"[red]✗[/] {escape(str(problem))}"))
        return Group(*lines)

    @property
    def ok(self) -> bool:
        return all(not problems for _, problems in self.checked)


@dataclass
class RunHistory:
    runs: list[RunState]

    def __rich__(self) -> RenderableType:
        if not self.runs:
            return Text("no runs recorded yet (.opsctl/runs/ is empty)")
        table = Table(
            "run id",
            "runbook",
            "env",
            "status",
            "started",
            "actor",
            "reason",
            title="runbook runs",
            title_justify="left",
        )
        for run in self.runs:
            start = run.start
            who = start.get("actor") or {}
            status = run.status + (" (dry run)" if start.get("dry_run") else "")
            table.add_row(
                run.run_id,
                str(start.get("runbook")),
                str(start.get("env")),
                status,
                str(start.get("at", ""))[:19],
                f"{who.get('user')}@{who.get('host')}",
                str(start.get("reason") or ""),
            )
        return table


@dataclass
class RunLog:
    run: RunState

    def __rich__(self) -> RenderableType:
        start = self.run.start
        who = start.get("actor") or {}
        head = (
            f"[bold]run {escape(self.run.run_id)}[/]: {escape(str(start.get('runbook')))} on "
            f"{escape(str(start.get('env')))} — {escape(self.run.status)}"
            f"{' (dry run)' if start.get('dry_run') else ''}\n"
            f"by {escape(str(who.get('user')))}@{escape(str(who.get('host')))}, reason: "
            f"{escape(str(start.get('reason') or '-'))}, params: {escape(str(start.get('params')))}"
            f"\nrunbook {escape(str(start.get('file')))} {escape(str(start.get('content_hash')))}"
        )
        table = Table("at", "event", "step", "detail")
        for event in self.run.events:
            kind = str(event.get("event"))
            if kind == "run_started":
                continue
            table.add_row(
                str(event.get("at", ""))[11:23],
                kind,
                str(event.get("step") or ""),
                escape(_detail(event)),
            )
        parts: list[RenderableType] = [Text.from_markup(head), table]
        if self.run.unreadable:
            parts.append(
                Text(f"{self.run.unreadable} unreadable line(s) (torn by a crash)", style="yellow")
            )
        return Group(*parts)


def _detail(event: dict[str, Any]) -> str:
    kind = event.get("event")
    if kind == "step_started":
        return f"attempt {event.get('attempt')}: {event.get('does') or '(sensitive)'}"
    if kind == "step_finished":
        parts = [str(event.get("status"))]
        if event.get("duration_ms") is not None:
            parts.append(f"{event['duration_ms']} ms")
        for key in ("summary", "error"):
            if event.get(key):
                parts.append(str(event[key]))
        if event.get("outputs"):
            parts.append(f"outputs {event['outputs']}")
        return " · ".join(parts)
    if kind == "decision":
        return f"{event.get('question')} → {event.get('answer')} (by {event.get('by')})"
    if kind == "run_resumed":
        return f"by {(event.get('actor') or {}).get('user')} from step {event.get('from_step')}"
    if kind == "run_finished":
        ran, simulated = event.get("executed"), event.get("simulated")
        return f"{event.get('status')} (ran {ran}, simulated {simulated})"
    return ""
