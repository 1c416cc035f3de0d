"""What confirm and manual steps share: asking, and what counts as yes."""

from __future__ import annotations

from opsctl.runbook.steps.interface import NoAnswerError, StepContext, StepError

YES = {"y", "yes"}


def ask(context: StepContext, question: str) -> str:
    """The human's answer; closed input fails the step (nobody is there to decide)."""
    try:
        return context.prompter.ask(question)
    except NoAnswerError:
        raise StepError(f"no answer to {question!r}: input is closed") from None
