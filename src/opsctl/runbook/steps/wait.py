"""``wait``: poll a read-only probe until a condition holds, a fail condition holds, or time is up.

The interval grows by ``backoff`` after each poll, capped by ``max_interval``. A probe that
errors (for example connection refused while a service restarts) counts as "not yet".
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from opsctl.config.durations import format_duration
from opsctl.runbook.model import ProbeSpec, WaitSpec
from opsctl.runbook.steps.interface import (
    StepContext,
    StepError,
    StepResult,
    StepTimeoutError,
    StepType,
)
from opsctl.runbook.templating import ExpressionError

DEFAULT_TIMEOUT = 300.0


def probe_type(probe: ProbeSpec) -> tuple[StepType, Any]:
    from opsctl.runbook.steps import type_for_kind

    return type_for_kind(probe.kind, mutating=False), getattr(probe, probe.kind)


class WaitStep(StepType):
    kind = "wait"
    default_timeout = DEFAULT_TIMEOUT

    def describe(self, spec: WaitSpec) -> str:
        step_type, probe = probe_type(spec.probe)
        fail = f", fail if {spec.fail_if}" if spec.fail_if else ""
        return f"poll {step_type.describe(probe)} until {spec.until}{fail}"

    def run(self, spec: WaitSpec, context: StepContext) -> StepResult:
        step_type, probe = probe_type(spec.probe)
        timeout = context.timeout if context.timeout is not None else DEFAULT_TIMEOUT
        started = time.monotonic()
        deadline = started + timeout
        interval = spec.interval
        polls = 0
        last = "no poll yet"
        while True:
            polls += 1
            remaining = max(0.5, deadline - time.monotonic())
            value: dict[str, Any] | None
            try:
                outcome = step_type.run(probe, replace(context, timeout=min(remaining, 30.0)))
                value, last = outcome.value, outcome.summary
            except StepError as error:
                value, last = error.result, error.message
            if value is not None:
                try:
                    failing = spec.fail_if is not None and bool(
                        context.evaluate(spec.fail_if, value)
                    )
                    met = not failing and bool(context.evaluate(spec.until, value))
                except ExpressionError as error:  # an unexpected answer counts as "not yet"
                    failing, met, last = False, False, f"{last}; condition: {error}"
                if failing:
                    raise StepError(f"fail condition holds ({spec.fail_if}): {last}", result=value)
                if met:
                    summary = f"condition met after {polls} poll(s)"
                    return StepResult(value={**value, "polls": polls}, summary=summary)
            context.progress(f"poll {polls}: not yet ({last})")
            if time.monotonic() + interval > deadline:
                elapsed = format_duration(time.monotonic() - started)
                raise StepTimeoutError(
                    f"{spec.until} still false after {elapsed} ({polls} polls); last: {last}",
                    result=value,
                )
            time.sleep(interval)
            interval = min(interval * spec.backoff, spec.max_interval)
