"""Run a runbook's steps against one environment: templates, ``when``, timeouts, retries,
``outputs``, ``assert``, dry run, resume and Ctrl-C, with every event recorded.

The CLI prepares a :class:`RunSetup` (validated runbook, parameters, secrets, environment,
lock, record) and calls :func:`execute`. Completed steps of a resumed run are passed in
``done`` with their recorded outputs and are never run again. What a step's result must
satisfy (``outputs``, ``assert``) is evaluated by :mod:`.postconditions`.
"""

from __future__ import annotations

import secrets as _random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.errors import OpsctlError
from opsctl.runbook.display import Display
from opsctl.runbook.load import LoadedRunbook
from opsctl.runbook.model import HUMAN_TYPES, RetrySpec, Step
from opsctl.runbook.postconditions import outputs_and_asserts
from opsctl.runbook.records import RunRecorder, StepState
from opsctl.runbook.rendering import render_spec, simulated_inputs
from opsctl.runbook.secrets import Masker
from opsctl.runbook.steps import type_for_kind
from opsctl.runbook.steps.interface import (
    Prompter,
    StepContext,
    StepError,
    StepResult,
    StepType,
)
from opsctl.runbook.templating import ExpressionError, evaluate

SIMULATED = "<simulated>"
_RANDOM = _random.SystemRandom()


@dataclass
class RunSetup:
    loaded: LoadedRunbook
    run_id: str
    env_name: str
    base_url: str
    protected: bool
    params: dict[str, Any]
    secrets: dict[str, str]
    env_extra: dict[str, Any]
    database_url: Callable[[], str]
    root: Path
    actor: dict[str, Any]
    reason: str | None
    dry_run: bool
    yes: bool
    masker: Masker
    prompter: Prompter
    display: Display
    recorder: RunRecorder
    done: dict[str, StepState] = field(default_factory=dict)


@dataclass
class RunOutcome:
    run_id: str
    status: str  # succeeded | failed | interrupted
    executed: int = 0
    simulated: int = 0
    not_asked: int = 0
    unverified: int = 0  # dry run: assertions after simulated writes, reported not enforced
    dependent: int = 0  # read-only steps not run in a dry run: their inputs were simulated
    failed_step: str | None = None
    error: str | None = None


def execute(setup: RunSetup) -> RunOutcome:
    runbook = setup.loaded.runbook
    outcome = RunOutcome(run_id=setup.run_id, status="succeeded")
    context: dict[str, Any] = {
        "params": setup.params,
        "env": {
            "name": setup.env_name,
            "url": setup.base_url,
            "protected": setup.protected,
            **setup.env_extra,
        },
        "steps": {},
        "run": {
            "id": setup.run_id,
            "actor": setup.actor.get("user"),
            "dry_run": setup.dry_run,
            "reason": setup.reason,
        },
        "secrets": setup.secrets,
    }
    simulated_ids: set[str] = set()
    total = len(runbook.steps)
    for index, step in enumerate(runbook.steps, start=1):
        earlier = setup.done.get(step.id)
        if earlier is not None and earlier.done:
            context["steps"][step.id] = {"status": earlier.status, "outputs": earlier.outputs}
            setup.display.step_finished(step.title, earlier.status, 0, "(done in the earlier run)")
            continue
        try:
            status = _run_step(setup, step, index, total, context, simulated_ids, outcome)
        except KeyboardInterrupt:
            # also between attempts (backoff) and while rendering: the record ends cleanly
            setup.recorder.write("run_finished", status="interrupted", failed_step=step.id)
            raise
        except Exception as error:
            # a bug or an unexpected library error: the record still says how the run ended
            setup.recorder.write(
                "run_finished",
                status="failed",
                failed_step=step.id,
                error=f"{type(error).__name__}: {error}",
            )
            raise
        if status == "abort":
            outcome.status = "failed"
            outcome.failed_step = step.id
            break
    setup.recorder.write(
        "run_finished",
        status=outcome.status,
        dry_run=setup.dry_run,
        executed=outcome.executed,
        simulated=outcome.simulated,
        failed_step=outcome.failed_step,
        error=outcome.error,
    )
    return outcome


def _run_step(
    setup: RunSetup,
    step: Step,
    index: int,
    total: int,
    context: dict[str, Any],
    simulated_ids: set[str],
    outcome: RunOutcome,
) -> str:
    """Run one step (with retries); returns ``"next"`` or ``"abort"``."""
    record, display = setup.recorder, setup.display
    step_type = type_for_kind(step.kind, mutating=step.is_mutating)
    if step.when is not None:
        try:
            wanted = bool(evaluate(step.when, context))
        except ExpressionError as error:
            return _fail_before_start(setup, step, f"when: {error}", context, outcome)
        if not wanted:
            record.write("step_finished", step=step.id, status="skipped", reason=step.when)
            context["steps"][step.id] = {"status": "skipped", "outputs": {}}
            display.step_finished(step.title, "skipped", 0, f"(when: {step.when} is false)")
            return "next"
    depends_on = simulated_inputs(step, simulated_ids)
    # a wait after a simulated write would wait for an effect that never comes
    waits_for_simulated = step.kind == "wait" and outcome.simulated > 0
    if setup.dry_run and (
        step.is_mutating or depends_on or waits_for_simulated or step.kind in HUMAN_TYPES
    ):
        return _simulate(
            setup, step, step_type, index, total, context, simulated_ids, depends_on, outcome
        )
    try:
        spec = render_spec(step, context)
    except ExpressionError as error:
        return _fail_before_start(setup, step, f"cannot render: {error}", context, outcome)
    what = step_type.describe(spec)
    # a sensitive step shows its templates, not the values rendered into them
    headline = step_type.describe(step.spec) if step.sensitive else what
    display.step_started(index, total, step.title, headline, step.description)
    retry = step.retry or RetrySpec(attempts=1)
    inputs = None if step.sensitive else _inputs(spec)
    for attempt in range(1, retry.attempts + 1):
        record.write(
            "step_started",
            step=step.id,
            attempt=attempt,
            type=step.kind,
            mutating=step.is_mutating,
            does=what if not step.sensitive else None,
            inputs=inputs,
        )
        started = time.monotonic()
        try:
            # no live timer under a prompt: it would redraw over the question
            timer = display.timer(step.title) if step.kind not in HUMAN_TYPES else nullcontext()
            with timer:
                result = _run_type(step_type, spec, _step_context(setup, step, step_type, context))
            # in a dry run, a check after a simulated write sees the state before it: report
            # its assertions, do not fail the run on them
            strict = not (setup.dry_run and outcome.simulated)
            outputs, assertions = outputs_and_asserts(step, result, context, strict=strict)
        except KeyboardInterrupt:
            elapsed = time.monotonic() - started
            record.write(
                "step_finished",
                step=step.id,
                attempt=attempt,
                status="interrupted",
                duration_ms=int(elapsed * 1000),
                error="interrupted by Ctrl-C",
            )
            display.step_finished(step.title, "interrupted", elapsed, "stopped by Ctrl-C")
            raise
        except StepError as error:
            elapsed = time.monotonic() - started
            status = _error_status(error)
            last = attempt == retry.attempts or not error.retryable
            continued = last and step.on_failure == "continue"
            if error.decision is not None:
                record.write("decision", step=step.id, **error.decision)
            record.write(
                "step_finished",
                step=step.id,
                attempt=attempt,
                status=status,
                duration_ms=int(elapsed * 1000),
                error=error.message,
                result=None if step.sensitive else error.result,
                assertions=getattr(error, "assertions", None),
                continued=continued,
                decision=error.decision,
            )
            display.step_finished(step.title, status, elapsed, error.message)
            if not last:
                delay = _backoff(retry, attempt)
                display.say(f"  retrying in {delay:.1f}s (attempt {attempt + 1}/{retry.attempts})")
                _sleep(delay)
                continue
            outcome.executed += 1
            context["steps"][step.id] = {"status": status, "outputs": {}}
            if continued:
                display.say("  on_failure: continue — going on with the next step", style="yellow")
                return "next"
            outcome.error = error.message
            return "abort"
        elapsed = time.monotonic() - started
        if result.decision is not None:
            record.write("decision", step=step.id, **result.decision)
        unverified = [a["assert"] for a in assertions if not a["ok"]]
        status = "unverified" if unverified else "succeeded"
        record.write(
            "step_finished",
            step=step.id,
            attempt=attempt,
            status=status,
            duration_ms=int(elapsed * 1000),
            summary=result.summary,
            outputs=outputs,
            assertions=assertions,
            result=None if step.sensitive else result.value,
            decision=result.decision,
        )
        shown = (
            f"{result.summary} {_short(outputs)}"
            if outputs and not step.sensitive
            else result.summary
        )
        if unverified:
            shown += (
                f" (not checked in a dry run, follows simulated steps: {'; '.join(unverified)})"
            )
            outcome.unverified += 1
        display.step_finished(step.title, status, elapsed, shown)
        context["steps"][step.id] = {"status": status, "outputs": outputs}
        outcome.executed += 1
        return "next"
    raise AssertionError("unreachable")  # pragma: no cover


def _run_type(step_type: StepType, spec: Any, step_context: StepContext) -> StepResult:
    try:
        return step_type.run(spec, step_context)
    except OpsctlError as error:  # e.g. the environment's database cannot be reached
        raise StepError(str(error)) from None


def _simulate(
    setup: RunSetup,
    step: Step,
    step_type: StepType,
    index: int,
    total: int,
    context: dict[str, Any],
    simulated_ids: set[str],
    depends_on: list[str],
    outcome: RunOutcome,
) -> str:
    if depends_on:
        what = f"not rendered: uses outputs of simulated step(s) {', '.join(depends_on)}"
    elif step.kind == "wait" and not step.is_mutating and outcome.simulated:
        what = "not run: it waits for the effect of a simulated step"
    else:
        try:
            what = step_type.describe(render_spec(step, context))
        except ExpressionError as error:
            return _fail_before_start(setup, step, f"cannot render: {error}", context, outcome)
    human = step.kind in HUMAN_TYPES and not step.is_mutating
    label = "not asked in a dry run" if human else "simulated, not run"
    setup.display.step_started(index, total, step.title, what, step.description)
    setup.recorder.write(
        "step_finished",
        step=step.id,
        status="simulated",
        type=step.kind,
        mutating=step.is_mutating,
        does=None if step.sensitive else what,
    )
    setup.display.step_finished(step.title, "simulated", 0, f"({label})")
    if human:
        outcome.not_asked += 1
    elif step.is_mutating:
        outcome.simulated += 1
    else:
        outcome.dependent += 1
    simulated_ids.add(step.id)
    outputs = dict.fromkeys(step.outputs, SIMULATED)
    context["steps"][step.id] = {"status": "simulated", "outputs": outputs}
    return "next"


def _fail_before_start(
    setup: RunSetup, step: Step, message: str, context: dict[str, Any], outcome: RunOutcome
) -> str:
    setup.recorder.write(
        "step_finished",
        step=step.id,
        status="failed",
        error=message,
        continued=step.on_failure == "continue",
    )
    setup.display.step_finished(step.title, "failed", 0, message)
    context["steps"][step.id] = {"status": "failed", "outputs": {}}
    if step.on_failure == "continue":
        return "next"
    outcome.error = message
    return "abort"


def _step_context(
    setup: RunSetup, step: Step, step_type: StepType, context: dict[str, Any]
) -> StepContext:
    timeout = step.timeout if step.timeout is not None else step_type.default_timeout
    protected_auto = setup.yes and not setup.protected
    return StepContext(
        root=setup.root,
        base_url=setup.base_url,
        masker=setup.masker,
        prompter=setup.prompter,
        timeout=timeout,
        database_url=setup.database_url,
        evaluate=lambda expr, result: evaluate(expr, {**context, "result": result}),
        progress=setup.display.progress,
        auto_yes=protected_auto,
        actor=str(setup.actor.get("user", "")),
    )


def _inputs(spec: Any) -> dict[str, Any]:
    data = spec.model_dump(by_alias=True, exclude_defaults=False)
    return {key: value for key, value in data.items() if value not in (None, {}, [])}


def _error_status(error: StepError) -> str:
    from opsctl.runbook.steps.interface import StepDeclinedError

    if isinstance(error, StepDeclinedError):
        return "declined"
    return "timed_out" if error.timed_out else "failed"


def _backoff(retry: RetrySpec, attempt: int) -> float:
    delay = retry.delay if retry.backoff == "fixed" else retry.delay * 2 ** (attempt - 1)
    delay = min(delay, retry.max_delay)
    if retry.jitter:
        delay = _RANDOM.uniform(delay / 2, delay)
    return delay


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _short(outputs: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in outputs.items())
    return text if len(text) < 160 else text[:157] + "..."
