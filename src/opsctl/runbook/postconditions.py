"""After a step ran: take its ``outputs`` from the result and check its ``assert`` conditions.

Assertions see the step's own outputs (as ``outputs`` and ``steps.<id>.outputs``). A failed
assertion is never retried: the work itself was done, running it again would not help.
"""

from __future__ import annotations

from typing import Any

from opsctl.runbook.model import Step
from opsctl.runbook.steps.interface import StepError, StepResult
from opsctl.runbook.templating import ExpressionError, evaluate


class AssertionFailedError(StepError):
    """A post-condition does not hold; never retried (the work itself was done)."""

    retryable = False

    def __init__(self, message: str, *, result: dict[str, Any], assertions: list[Any]) -> None:
        super().__init__(message, result=result)
        self.assertions = assertions


def outputs_and_asserts(
    step: Step, result: StepResult, context: dict[str, Any], *, strict: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    scope = {**context, "result": result.value}
    outputs: dict[str, Any] = {}
    for name, expr in step.outputs.items():
        try:
            outputs[name] = evaluate(expr, scope)
        except ExpressionError as error:
            raise StepError(f"output {name!r}: {error}", result=result.value) from None
    scope["steps"] = {**context["steps"], step.id: {"status": "succeeded", "outputs": outputs}}
    scope["outputs"] = outputs
    assertions: list[dict[str, Any]] = []
    for expr in step.asserts:
        try:
            ok = bool(evaluate(expr, scope))
        except ExpressionError as error:
            ok, expr = False, f"{expr} ({error})"
        assertions.append({"assert": expr, "ok": ok})
    failed = [a["assert"] for a in assertions if not a["ok"]]
    if failed and strict:
        raise AssertionFailedError(
            f"assertion failed: {'; '.join(failed)}", result=result.value, assertions=assertions
        )
    return outputs, assertions
