"""What the human at the keyboard sees: the current step, what it does, a live timer, and on
failure what happened and what to do next. Also the stdin prompter used by confirmations.

Everything shown passes through the run's :class:`~opsctl.runbook.secrets.Masker` first.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from opsctl.config.durations import format_duration
from opsctl.runbook.secrets import Masker
from opsctl.runbook.steps.interface import NoAnswerError, Prompter

_MARKS = {
    "succeeded": "[green]✓[/]",
    "skipped": "[dim]-[/]",
    "simulated": "[cyan]~[/]",
    "unverified": "[yellow]?[/]",
    "failed": "[red]✗[/]",
    "timed_out": "[red]⏱[/]",
    "declined": "[yellow]✗[/]",
    "interrupted": "[yellow]![/]",
}


class _Timer:
    """A renderable that shows the elapsed time whenever Live refreshes it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.note = ""

    def __rich__(self) -> Text:
        elapsed = format_duration(time.monotonic() - self.started)
        return Text(f"  … {self.label} {elapsed} {self.note}".rstrip(), style="dim")


class Display:
    def __init__(self, console: Console, masker: Masker) -> None:
        self.console = console
        self.masker = masker
        self._timer: _Timer | None = None

    def say(self, text: str, *, style: str | None = None) -> None:
        self.console.print(escape(self.masker.text(text)), style=style, highlight=False)

    def markup(self, text: str) -> None:
        """Print trusted markup around escaped values (callers escape; masked here too)."""
        self.console.print(self.masker.text(text), highlight=False)

    def step_started(
        self, index: int, total: int, title: str, what: str, about: str | None
    ) -> None:
        head = f"[bold]▶ step {index}/{total} {escape(title)}[/]"
        self.markup(f"{head}  {escape(self.masker.text(what))}")
        if about:
            self.say("  " + " ".join(about.split()), style="dim")

    @contextlib.contextmanager
    def timer(self, label: str) -> Iterator[None]:
        """A live timer while a step runs (only on a terminal; prompts never run under it)."""
        if not self.console.is_terminal:
            yield
            return
        self._timer = _Timer(label)
        with Live(self._timer, console=self.console, refresh_per_second=4, transient=True):
            try:
                yield
            finally:
                self._timer = None

    def progress(self, message: str) -> None:
        if self._timer is not None:
            self._timer.note = self.masker.text(message)
        else:
            self.say("  " + message, style="dim")

    def step_finished(self, title: str, status: str, elapsed: float, detail: str) -> None:
        mark = _MARKS.get(status, "?")
        text = escape(self.masker.text(detail))
        took = format_duration(elapsed)
        self.markup(f"{mark} {escape(title)} [dim]{status} in {took}[/] {text}".rstrip())


class StdinPrompter(Prompter):
    """Asks on the console and reads one line from standard input."""

    def __init__(self, console: Console, masker: Masker) -> None:
        self.console = console
        self.masker = masker

    def show(self, text: str) -> None:
        self.console.print(escape(self.masker.text(text)), highlight=False)

    def ask(self, question: str) -> str:
        self.console.print(escape(self.masker.text(question)) + " ", end="", highlight=False)
        line = sys.stdin.readline()
        if not line or not sys.stdin.isatty():
            self.console.print()  # typed input echoes its own newline; piped input does not
        if not line:
            raise NoAnswerError(question)
        return line.strip()
