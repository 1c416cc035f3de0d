"""What a gate is, and what it reports.

A gate judges one part of the Definition of Done (coverage, security, migrations, load, api). The
runner (``opsctl.gates.runner``) runs gates concurrently and hands their :class:`GateResult`
values to the report writers (``opsctl.reports``). A gate never decides the process exit code
and never prints: it reports progress through :meth:`GateContext.progress` and returns a result.

Honesty rule: a gate that could not judge (tool crashed, input skipped, no data, timeout)
returns ``Status.INCOMPLETE``, never ``Status.PASSED``.
"""

from __future__ import annotations

import enum
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from opsctl.errors import OpsctlError

if TYPE_CHECKING:
    from opsctl.config.models import EnvironmentConfig, LoadedProject


class Status(enum.StrEnum):
    """A gate's verdict. Ordered from best to worst by :attr:`rank`."""

    PASSED = "passed"
    SKIPPED = "skipped"
    INCOMPLETE = "incomplete"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return list(Status).index(self)


class Severity(enum.StrEnum):
    """How much a finding matters to the verdict (maps to SARIF levels)."""

    ERROR = "error"  # makes the gate fail
    WARNING = "warning"  # reported, does not fail
    NOTE = "note"  # informational (accepted findings, context)


@dataclass(frozen=True)
class Finding:
    """One thing a gate found, with where it is when there is a place."""

    rule: str  # stable id, e.g. "bandit/B602", "coverage/path-threshold", "migrations/MIG003"
    message: str  # plain words: what is wrong and what to do
    severity: Severity = Severity.ERROR
    file: str | None = None  # repository-relative path
    line: int | None = None
    end_line: int | None = None
    accepted: bool = False  # suppressed by an accepted entry of the Definition of Done
    help: str | None = None  # how to fix it


@dataclass(frozen=True)
class Measurement:
    """A number the gate measured, with the threshold it was held to."""

    name: str  # e.g. "total coverage", "P95 Me"
    value: float | None  # None: could not be measured
    threshold: float | None = None
    unit: str = ""  # "%", "ms", "findings", ...
    comparison: str = ">="  # how value is held against threshold: ">=", "<=", "=="
    passed: bool | None = None  # None: informational

    def render_value(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{self.value:.2f}{self.unit}" if self.unit in ("%", "ms") else f"{self.value:g}"


@dataclass
class GateResult:
    """Everything one gate reports. Serialised as-is into every report format."""

    gate: str
    status: Status
    summary: str  # one line for the summary table
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # tool name -> version
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)  # gate-specific, JSON-serialisable
    reasons: list[str] = field(default_factory=list)  # why incomplete/skipped, in plain words


@dataclass
class GateContext:
    """What a gate may use while it runs."""

    project: LoadedProject
    definition_of_done: Any  # opsctl.definition_of_done.DefinitionOfDone
    environment_name: str
    environment: EnvironmentConfig
    base_ref: str | None = None
    progress: Callable[[str], None] = lambda _message: None
    cancelled: threading.Event = field(default_factory=threading.Event)
    options: dict[str, Any] = field(default_factory=dict)  # CLI options a gate may read


class GateError(OpsctlError):
    """A gate could not run at all. The runner turns it into an ``incomplete`` result."""


class Gate(ABC):
    """A check of the Definition of Done. Implementations live in ``opsctl.gates.<name>``."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: Runs alone, after every other gate has finished (timings that other gates would skew).
    exclusive: ClassVar[bool] = False

    def skip_reason(self, context: GateContext) -> str | None:
        """Why this gate does not apply to the project (None: it applies).

        By default a gate applies when the Definition of Done has its section (named like the
        gate); a gate with more conditions overrides this.
        """
        if getattr(context.definition_of_done, self.name, None) is None:
            return f"the Definition of Done has no '{self.name}' section"
        return None

    @abstractmethod
    def run(self, context: GateContext) -> GateResult:  # pragma: no cover
        """Judge, and return the verdict. Raise :class:`GateError` if it cannot run at all."""
        raise NotImplementedError
