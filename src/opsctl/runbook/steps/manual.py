"""``manual``: instructions for the human, then their answer, recorded."""

from __future__ import annotations

from opsctl.runbook.model import ManualSpec
from opsctl.runbook.steps.human import YES, ask
from opsctl.runbook.steps.interface import StepContext, StepDeclinedError, StepResult, StepType


class ManualStep(StepType):
    kind = "manual"
    default_timeout = None

    def describe(self, spec: ManualSpec) -> str:
        text = " ".join(spec.instructions.split())
        return f"manual: {text if len(text) <= 100 else text[:97] + '...'}"

    def run(self, spec: ManualSpec, context: StepContext) -> StepResult:
        context.prompter.show(spec.instructions)
        question = spec.prompt or "Done? [y/N]"
        answer = ask(context, question)
        decision = {"question": question, "answer": answer, "by": context.actor}
        if spec.prompt is None and answer.strip().lower() not in YES:
            raise StepDeclinedError(
                f"not done (answered {answer!r})", result={"answer": answer}, decision=decision
            )
        return StepResult(value={"answer": answer}, summary="answered", decision=decision)
