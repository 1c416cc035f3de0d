"""What a step type is: render-free code that performs one rendered request and reports back.

The executor renders templates, applies ``when``, timeouts, retries, ``outputs`` and
``assert``; a step type only performs its work within ``context.timeout`` (really stopping it
when the time is up) and returns a :class:`StepResult` or raises :class:`StepError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from opsctl.runbook.secrets import Masker


class StepError(Exception):
    """The step did not do what it should; ``result`` is what it saw, when it saw anything."""

    timed_out = False
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        result: dict[str, Any] | None = None,
        decision: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        self.decision = decision


class StepTimeoutError(StepError):
    """The step ran out of time and its work was stopped (process group killed, query cancelled)."""

    timed_out = True


class StepDeclinedError(StepError):
    """A human answered no; never retried."""

    retryable = False


class NoAnswerError(Exception):
    """The human could not be asked (input closed)."""


class Prompter(ABC):
    """Asks the human at the keyboard; the answer is recorded by the executor."""

    @abstractmethod
    def ask(self, question: str) -> str:
        """The typed answer (stripped); raises :class:`NoAnswerError` when no one can answer."""

    @abstractmethod
    def show(self, text: str) -> None:
        """Show instructions before a question."""


@dataclass
class StepContext:
    """What a step type may use while it runs."""

    root: Path
    base_url: str
    masker: Masker
    prompter: Prompter
    timeout: float | None
    database_url: Callable[[], str]
    evaluate: Callable[[str, dict[str, Any]], Any]
    progress: Callable[[str], None] = lambda _message: None
    auto_yes: bool = False
    actor: str = ""


@dataclass
class StepResult:
    """The ``result`` later expressions see, a one-line summary, and a human decision if any."""

    value: dict[str, Any]
    summary: str
    decision: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StepType(ABC):
    """One kind of step (``http``, ``sql``, ...). ``spec`` is the rendered, validated model."""

    kind: ClassVar[str]
    default_timeout: ClassVar[float | None] = 30.0

    @abstractmethod
    def describe(self, spec: Any) -> str:
        """One line saying exactly what will be done (shown live and for simulated steps)."""

    @abstractmethod
    def run(self, spec: Any, context: StepContext) -> StepResult:
        """Do the work; raise :class:`StepError` / :class:`StepTimeoutError` on failure."""
