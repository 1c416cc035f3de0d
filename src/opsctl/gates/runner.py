"""Run gates concurrently and collect one :class:`~opsctl.reports.interface.VerifyRun`.

Gates run concurrently, except ``exclusive`` ones (the load gate): each runs alone, once the
others have finished. Every gate ends with a result, whatever happens: a gate that raises
:class:`GateError` (or any opsctl error) is ``incomplete`` with the message; a gate that
crashes is ``incomplete`` with the exception named; ``--fail-fast`` and Ctrl-C stop the others
(their tools are killed) and mark what did not finish as ``incomplete``, the run as
``partial``. The caller writes the reports.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table

from opsctl import __version__
from opsctl.errors import InterruptedByUser, OpsctlError
from opsctl.gates.interface import Gate, GateContext, GateResult, Status
from opsctl.reports.interface import VerifyRun

ContextFactory = Callable[[Callable[[str], None], threading.Event], GateContext]
_REFRESH_S = 0.25
_STOP_GRACE_S = 15.0


@dataclass
class _Progress:
    """What the live display shows for one gate."""

    name: str
    state: str = "waiting"
    message: str = ""
    started: float | None = None
    finished: float | None = None
    result: GateResult | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> str:
        if self.started is None:
            return ""
        return f"{(self.finished or time.monotonic()) - self.started:.1f}s"


def _incomplete(name: str, reason: str, **details: object) -> GateResult:
    return GateResult(
        gate=name, status=Status.INCOMPLETE, summary=reason, reasons=[reason], details=dict(details)
    )


def _run_one(gate: Gate, context: GateContext, progress: _Progress) -> GateResult:
    progress.state, progress.started = "running", time.monotonic()
    try:
        result = gate.run(context)
    except OpsctlError as error:
        why = "stopped" if context.cancelled.is_set() else "could not run"
        result = _incomplete(gate.name, f"{why}: {error}")
    except Exception as error:  # a bug in a gate must not cost the other gates' reports
        result = _incomplete(
            gate.name,
            f"gate crashed: {type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=20),
        )
    progress.finished = time.monotonic()
    result.gate = gate.name  # the registry name is what reports and selections use
    result.duration_s = progress.finished - progress.started
    progress.state, progress.result = result.status.value, result
    return result


def _table(progresses: list[_Progress]) -> Table:
    table = Table(title="opsctl verify", expand=False)
    for column in ("Gate", "State", "Time", "Doing"):
        table.add_column(column)
    for p in progresses:
        table.add_row(p.name, p.state, p.elapsed(), p.message[:80])
    return table


def run_gates(
    gates: Sequence[Gate],
    make_context: ContextFactory,
    *,
    project: str,
    environment: str,
    base_ref: str | None = None,
    jobs: int = 2,
    fail_fast: bool = False,
    console: Console | None = None,
) -> VerifyRun:
    """Run ``gates`` (at most ``jobs`` at once) and return every result, in the given order."""
    started_at = dt.datetime.now(dt.UTC)
    cancelled = threading.Event()
    progresses = [_Progress(gate.name) for gate in gates]
    results: dict[str, GateResult] = {}
    notes: list[str] = []
    partial = False
    live_console = console if console is not None and console.is_terminal else None

    def log(line: str) -> None:
        if console is not None and live_console is None:
            console.print(line, highlight=False, markup=False)

    executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="gate")
    futures: dict[Future[GateResult], _Progress] = {}
    live = Live(_table(progresses), console=live_console, refresh_per_second=4, transient=True)
    try:
        waves = _waves(gates, progresses, make_context, cancelled, results)
        if live_console is not None:
            live.start()
        for wave in waves:
            pending = set()
            for gate, context, progress in wave:
                future = executor.submit(_guarded, gate, context, progress, cancelled)
                futures[future] = progress
                pending.add(future)
            while pending:
                done, pending = wait(pending, timeout=_REFRESH_S, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    results[result.gate] = result
                    log(f"{result.gate}: {result.status.value} — {result.summary}")
                    if fail_fast and result.status is Status.FAILED and not cancelled.is_set():
                        notes.append(f"--fail-fast: stopped after {result.gate} failed")
                        cancelled.set()
                        partial = True
                if live_console is not None:
                    live.update(_table(progresses))
    except (KeyboardInterrupt, InterruptedByUser):  # Ctrl-C, or SIGTERM turned into one
        partial = True
        cancelled.set()
        notes.append("interrupted (Ctrl-C or SIGTERM): unfinished gates are incomplete")
        done, _ = wait(set(futures), timeout=_STOP_GRACE_S)
        for future in done:
            result = future.result()
            results.setdefault(result.gate, result)
    finally:
        if live_console is not None:
            live.stop()
        executor.shutdown(wait=False, cancel_futures=True)
    ordered = [
        results.get(gate.name) or _incomplete(gate.name, "interrupted before it finished")
        for gate in gates
    ]
    return VerifyRun(
        project=project,
        environment=environment,
        results=ordered,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.UTC),
        base_ref=base_ref,
        partial=partial,
        opsctl_version=__version__,
        notes=notes,
    )


_Wave = list[tuple[Gate, GateContext, _Progress]]


def _waves(
    gates: Sequence[Gate],
    progresses: list[_Progress],
    make_context: ContextFactory,
    cancelled: threading.Event,
    results: dict[str, GateResult],
) -> list[_Wave]:
    """The gates that run, in waves that run one after the other: first every ordinary gate
    (concurrently, up to ``jobs``), then each exclusive gate alone, so that no other gate's
    work (a test run under coverage, say) skews what it measures. Skipped gates go to
    ``results`` at once."""
    shared: _Wave = []
    alone: list[_Wave] = []
    for gate, progress in zip(gates, progresses, strict=True):
        context = make_context(_reporter(progress), cancelled)
        skipped = _skip(gate, context, progress)
        if skipped is not None:
            results[gate.name] = skipped
        elif gate.exclusive:
            progress.message = "runs alone, after the other gates"
            alone.append([(gate, context, progress)])
        else:
            shared.append((gate, context, progress))
    return [shared, *alone] if shared else alone


def _reporter(progress: _Progress) -> Callable[[str], None]:
    def report(message: str) -> None:
        progress.message = message

    return report


def _skip(gate: Gate, context: GateContext, progress: _Progress) -> GateResult | None:
    """The gate's result when it does not run: skipped (with why), or broken before it starts."""
    try:
        reason = gate.skip_reason(context)
    except Exception as error:  # same rule as run(): a broken gate costs only itself
        progress.state = "incomplete"
        return _incomplete(gate.name, f"could not start: {error}")
    if reason is None:
        return None
    progress.state = "skipped"
    return GateResult(gate=gate.name, status=Status.SKIPPED, summary=reason, reasons=[reason])


def _guarded(
    gate: Gate, context: GateContext, progress: _Progress, cancelled: threading.Event
) -> GateResult:
    if cancelled.is_set():  # --fail-fast or Ctrl-C before this gate started
        progress.state = "not run"
        return _incomplete(gate.name, "not run: the run was stopped before this gate started")
    return _run_one(gate, context, progress)
