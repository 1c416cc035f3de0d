"""``confirm``: a yes/no decision by the human, recorded with who gave it.

``--yes`` answers it in unprotected environments only; never in a protected one.
"""

from __future__ import annotations

from opsctl.runbook.model import ConfirmSpec
from opsctl.runbook.steps.human import YES, ask
from opsctl.runbook.steps.interface import StepContext, StepDeclinedError, StepResult, StepType


class ConfirmStep(StepType):
    kind = "confirm"
    default_timeout = None

    def describe(self, spec: ConfirmSpec) -> str:
        return f"ask: {spec.message}"

    def run(self, spec: ConfirmSpec, context: StepContext) -> StepResult:
        if context.auto_yes:
            answer, by = "yes", f"{context.actor} (--yes)"
        else:
            answer, by = ask(context, f"{spec.message} [y/N]"), context.actor
        decision = {"question": spec.message, "answer": answer, "by": by}
        approved = answer.strip().lower() in YES
        value = {"answer": approved}
        if not approved:
            raise StepDeclinedError(
                f"declined by {by} (answered {answer!r})", result=value, decision=decision
            )
        return StepResult(value=value, summary="confirmed", decision=decision)
