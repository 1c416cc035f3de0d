"""Run gates concurrently and collect one :class:`~opsctl.reports.interface.VerifyRun`.

Gates run concurrently, except ``exclusive`` ones (the load gate): each runs alone, once the
others have finished. Every gate ends with a result, whatever happens: a gate that raises
:class:`GateError` (or any opsctl error) is ``incomplete`` with the message; a gate that
crashes is ``incomplete`` with the exception named; ``--fail-fast`` and Ctrl-C stop the others
(their tools are killed) and mark what did not finish as ``incomplete``, the run as
``partial``. The caller writes the reports.

Two rules hold for every gate, whatever its code says:

* a ``passed`` verdict is checked against the gate's own numbers (:func:`checked_verdict`): a
  failed measurement or an unaccepted error finding makes it ``failed``, an unmeasured
  threshold or a stated reason ``incomplete``, with a reason saying the runner corrected it;
* a gate that raises :class:`~opsctl.errors.RefusedError` or
  :class:`~opsctl.errors.ConfigError` ends the whole run: the others are stopped and
  :func:`run_gates` raises :class:`RunAbortedError` (that error's exit code and message) carrying
  the partial run, so the caller still writes the reports.

Every line the runner prints goes through the run's :class:`SecretMasker`.
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
from opsctl.errors import ConfigError, InterruptedByUser, OpsctlError, RefusedError
from opsctl.gates.interface import Gate, GateContext, GateResult, Severity, Status
from opsctl.output.masking import SecretMasker
from opsctl.reports.interface import VerifyRun

ContextFactory = Callable[[Callable[[str], None], threading.Event], GateContext]
_REFRESH_S = 0.25
_STOP_GRACE_S = 15.0
#: errors that say the request itself is wrong: no gate result can answer them (exit 2)
_ABORTING = (RefusedError, ConfigError)


class RunAbortedError(OpsctlError):
    """A gate refused the run or found the configuration wrong: the whole verify ends with
    that error's exit code and (masked) message. :attr:`run` is the partial run, for the
    reports."""

    def __init__(self, cause: OpsctlError, run: VerifyRun) -> None:
        masked = run.masker.text
        super().__init__(
            masked(cause.message), hint=None if cause.hint is None else masked(cause.hint)
        )
        self.exit_code = cause.exit_code
        self.cause = cause
        self.run = run


@dataclass
class _Abort:
    """The first aborting error of the run (set from gate threads)."""

    error: OpsctlError | None = None
    gate: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, gate: str, error: OpsctlError) -> None:
        with self.lock:
            if self.error is None:
                self.error, self.gate = error, gate


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


def checked_verdict(result: GateResult) -> GateResult:
    """``result``, its ``passed`` downgraded if the gate's own data contradict it.

    ``failed``: a measurement with ``passed is False``, or an unaccepted error finding.
    ``incomplete``: a measurement with a threshold but no value (unless the gate judged it
    explicitly with ``passed=True``, e.g. diff coverage with no changed line), or a reason
    (the gate said it could not judge something). Either way a reason says the runner
    corrected the gate: that is a bug in the gate, and it must show.
    """
    if result.status is not Status.PASSED:
        return result
    failing = [
        f"measurement '{m.name}' did not pass" for m in result.measurements if m.passed is False
    ]
    failing += [
        f"error finding {f.rule}"
        for f in result.findings
        if f.severity is Severity.ERROR and not f.accepted
    ]
    unjudged = [
        f"measurement '{m.name}' has a threshold but no value"
        for m in result.measurements
        if m.threshold is not None and m.value is None and m.passed is not True
    ]
    if result.reasons:
        unjudged.append(f"the gate gave {len(result.reasons)} reason(s) it could not judge")
    if not failing and not unjudged:
        return result
    result.status = Status.FAILED if failing else Status.INCOMPLETE
    result.reasons.append(
        f"the runner corrected the {result.gate} gate's own verdict 'passed' to "
        f"'{result.status.value}' ({'; '.join(failing + unjudged)}): a bug in the gate"
    )
    result.summary = f"{result.summary} [corrected by the runner: {result.status.value}]"
    result.details["verdict_corrected_by_runner"] = {
        "gate_said": Status.PASSED.value,
        "runner_says": result.status.value,
    }
    return result


def _run_one(gate: Gate, context: GateContext, progress: _Progress, abort: _Abort) -> GateResult:
    progress.state, progress.started = "running", time.monotonic()
    try:
        result = gate.run(context)
    except _ABORTING as error:  # the request is wrong, not the service: end the whole run
        abort.record(gate.name, error)
        context.cancelled.set()
        result = _incomplete(gate.name, f"stopped the run: {error}")
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
    result = checked_verdict(result)
    result.duration_s = progress.finished - progress.started
    progress.state, progress.result = result.status.value, result
    return result


def _table(progresses: list[_Progress], masker: SecretMasker) -> Table:
    table = Table(title="opsctl verify", expand=False)
    for column in ("Gate", "State", "Time", "Doing"):
        table.add_column(column)
    for p in progresses:
        # masked before it is cut: a cut secret would no longer be recognised
        table.add_row(p.name, p.state, p.elapsed(), masker.text(p.message)[:80])
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
    masker: SecretMasker | None = None,
) -> VerifyRun:
    """Run ``gates`` (at most ``jobs`` at once) and return every result, in the given order.

    ``masker`` masks the environment's secrets in everything printed and in the run's reports.
    Raises :class:`RunAbortedError` (carrying the partial run) when a gate refused or found the
    configuration wrong.
    """
    masker = masker if masker is not None else SecretMasker()
    started_at = dt.datetime.now(dt.UTC)
    cancelled = threading.Event()
    abort = _Abort()
    progresses = [_Progress(gate.name) for gate in gates]
    results: dict[str, GateResult] = {}
    notes: list[str] = []
    partial = False
    live_console = console if console is not None and console.is_terminal else None

    def log(line: str) -> None:
        if console is not None and live_console is None:
            console.print(masker.text(line), highlight=False, markup=False)

    executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="gate")
    futures: dict[Future[GateResult], _Progress] = {}
    live = Live(
        _table(progresses, masker), console=live_console, refresh_per_second=4, transient=True
    )
    try:
        waves = _waves(gates, progresses, make_context, cancelled, results, abort)
        if live_console is not None:
            live.start()
        for wave in waves:
            pending = set()
            for gate, context, progress in wave:
                future = executor.submit(_guarded, gate, context, progress, cancelled, abort)
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
                    live.update(_table(progresses, masker))
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
    if abort.error is not None:
        partial = True
        notes.append(
            f"stopped: the {abort.gate} gate ended the run "
            f"(exit {int(abort.error.exit_code)}): {abort.error.message}"
        )
    ordered = [
        results.get(gate.name) or _incomplete(gate.name, "interrupted before it finished")
        for gate in gates
    ]
    run = VerifyRun(
        project=project,
        environment=environment,
        results=ordered,
        started_at=started_at,
        finished_at=dt.datetime.now(dt.UTC),
        base_ref=base_ref,
        partial=partial,
        opsctl_version=__version__,
        notes=notes,
        masker=masker,
        refused=abort.error is not None,
    )
    if abort.error is not None:
        raise RunAbortedError(abort.error, run)
    return run


_Wave = list[tuple[Gate, GateContext, _Progress]]


def _waves(
    gates: Sequence[Gate],
    progresses: list[_Progress],
    make_context: ContextFactory,
    cancelled: threading.Event,
    results: dict[str, GateResult],
    abort: _Abort,
) -> list[_Wave]:
    """The gates that run, in waves that run one after the other: first every ordinary gate
    (concurrently, up to ``jobs``), then each exclusive gate alone, so that no other gate's
    work (a test run under coverage, say) skews what it measures. Skipped gates go to
    ``results`` at once."""
    shared: _Wave = []
    alone: list[_Wave] = []
    for gate, progress in zip(gates, progresses, strict=True):
        context = make_context(_reporter(progress), cancelled)
        skipped = _skip(gate, context, progress, abort)
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


def _skip(
    gate: Gate, context: GateContext, progress: _Progress, abort: _Abort
) -> GateResult | None:
    """The gate's result when it does not run: skipped (with why), or broken before it starts."""
    try:
        reason = gate.skip_reason(context)
    except _ABORTING as error:
        abort.record(gate.name, error)
        context.cancelled.set()
        progress.state = "incomplete"
        return _incomplete(gate.name, f"stopped the run: {error}")
    except Exception as error:  # same rule as run(): a broken gate costs only itself
        progress.state = "incomplete"
        return _incomplete(gate.name, f"could not start: {error}")
    if reason is None:
        return None
    progress.state = "skipped"
    return GateResult(gate=gate.name, status=Status.SKIPPED, summary=reason, reasons=[reason])


def _guarded(
    gate: Gate,
    context: GateContext,
    progress: _Progress,
    cancelled: threading.Event,
    abort: _Abort,
) -> GateResult:
    if cancelled.is_set():  # --fail-fast or Ctrl-C before this gate started
        progress.state = "not run"
        return _incomplete(gate.name, "not run: the run was stopped before this gate started")
    return _run_one(gate, context, progress, abort)
