"""``sleep``: wait a fixed time (for example to let caches expire before checking again)."""

from __future__ import annotations

import time

from opsctl.config.durations import format_duration
from opsctl.runbook.model import SleepSpec
from opsctl.runbook.steps.interface import StepContext, StepResult, StepTimeoutError, StepType


class SleepStep(StepType):
    kind = "sleep"
    default_timeout = None

    def describe(self, spec: SleepSpec) -> str:
        if isinstance(spec.duration, str):
            return f"sleep {spec.duration}"
        return f"sleep {format_duration(spec.duration)}"

    def run(self, spec: SleepSpec, context: StepContext) -> StepResult:
        duration = float(spec.duration)
        if context.timeout is not None and duration > context.timeout:
            time.sleep(context.timeout)
            raise StepTimeoutError(
                f"sleep of {duration:g}s exceeds the {context.timeout:g}s timeout"
            )
        time.sleep(duration)
        return StepResult(value={"slept": duration}, summary=f"slept {duration:g}s")
