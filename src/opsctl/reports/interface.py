"""What every report renders (:class:`VerifyRun`) and the small contract of a report writer.

Writers are pure: ``render(run) -> str``. Masking happens in one place for all of them:
:meth:`ReportWriter.render` hands the writer :meth:`VerifyRun.masked` (every text of the run
with secrets masked, before any format escapes or splits them) and masks the rendered text once
more; the console summary and the GitHub annotations render the masked run too. Secrets are
passwords in any URL or ``password=`` parameter, and the values registered with the run's
:attr:`VerifyRun.masker` (the environment's URLs) in their encoded forms as well.

:func:`write_atomic` puts the text in place through a temporary file in the same folder and a
rename, so a reader never sees half a report, also when the run was interrupted (the run is
then marked ``partial``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from opsctl.errors import ExitCode, OpsctlError
from opsctl.gates.interface import GateResult, Status
from opsctl.output.masking import SecretMasker, mask_text

if TYPE_CHECKING:
    from opsctl.config.models import EnvironmentConfig


class ReportError(OpsctlError):
    """A report could not be written (exit 3: the verdict exists but was not delivered)."""


@dataclass
class VerifyRun:
    """One `opsctl verify` run: every gate's result and the context it ran in."""

    project: str
    environment: str
    results: list[GateResult]
    started_at: dt.datetime
    finished_at: dt.datetime
    base_ref: str | None = None
    partial: bool = False  # interrupted or stopped early: some gates did not finish
    opsctl_version: str = ""
    notes: list[str] = field(default_factory=list)
    #: set when a gate refused the run or found the configuration wrong (exit 2)
    refused: bool = False
    #: secret values known to this run (the environment's URLs): masked in every report
    masker: SecretMasker = field(default_factory=SecretMasker, repr=False, compare=False)
    #: the gates named on the command line: one of them skipped means the run cannot pass
    named_gates: list[str] = field(default_factory=list)
    #: commit, dirty tree, hashes of opsctl.yaml and the Definition of Done (reports/provenance)
    provenance: dict[str, object] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def nothing_judged(self) -> str | None:
        """Why no gate was judged (every gate skipped, or none ran); ``None`` if one was."""
        if any(result.status is not Status.SKIPPED for result in self.results):
            return None
        if not self.results:
            return "no gate was judged: no gate ran"
        return f"no gate was judged: all {len(self.results)} gate(s) were skipped"

    @property
    def named_but_skipped(self) -> list[str]:
        """Gates named on the command line that ended skipped: asked for, never judged."""
        named = set(self.named_gates)
        return [r.gate for r in self.results if r.gate in named and r.status is Status.SKIPPED]

    @property
    def problems(self) -> list[str]:
        """Run-level reasons the verdict is not a pass although no gate failed."""
        found = [self.nothing_judged] if self.nothing_judged else []
        if self.named_but_skipped and not self.nothing_judged:
            found.append(
                "named on the command line but skipped: " + ", ".join(self.named_but_skipped)
            )
        return found

    @property
    def exit_code(self) -> ExitCode:
        """1 if any gate failed, else 3 if any is incomplete, the run is partial, no gate was
        judged at all (a run of skipped gates proves nothing) or a gate named on the command
        line was skipped, else 0; 2 when a gate refused the run or found the configuration
        wrong."""
        if self.refused:
            return ExitCode.USAGE
        if self.count(Status.FAILED):
            return ExitCode.CHECK_FAILED
        if self.count(Status.INCOMPLETE) or self.partial or self.problems:
            return ExitCode.INCOMPLETE
        return ExitCode.OK

    @property
    def status(self) -> str:
        statuses = {0: "passed", 1: "failed", 2: "refused", 3: "incomplete"}
        return statuses.get(int(self.exit_code), "incomplete")

    def masked(self) -> VerifyRun:
        """A copy with every text masked (summaries, reasons, findings, details, notes)."""
        text, data = self.masker.text, self.masker.data
        results = [
            dataclasses.replace(
                result,
                gate=text(result.gate),
                summary=text(result.summary),
                measurements=[
                    dataclasses.replace(m, name=text(m.name), unit=text(m.unit))
                    for m in result.measurements
                ],
                findings=[
                    dataclasses.replace(
                        f,
                        rule=text(f.rule),
                        message=text(f.message),
                        file=None if f.file is None else text(f.file),
                        help=None if f.help is None else text(f.help),
                    )
                    for f in result.findings
                ],
                tools=data(result.tools),
                details=data(result.details),
                reasons=[text(reason) for reason in result.reasons],
            )
            for result in self.results
        ]
        return dataclasses.replace(
            self,
            project=text(self.project),
            environment=text(self.environment),
            base_ref=None if self.base_ref is None else text(self.base_ref),
            results=results,
            notes=[text(note) for note in self.notes],
        )


def environment_masker(environment: EnvironmentConfig, secrets: Iterable[str] = ()) -> SecretMasker:
    """A masker for the secrets of ``environment`` (its database and Redis URLs), and
    ``secrets`` (the project's ``service.env`` values taken from the environment)."""
    masker = SecretMasker(secrets)
    for url in (environment.database_url, environment.redis_url):
        if url is not None:  # "embedded" has no password: nothing is registered
            masker.add_url(url.get_secret_value())
    return masker


class ReportWriter(ABC):
    """Renders a :class:`VerifyRun` in one format, secrets masked."""

    format: ClassVar[str]

    def render(self, run: VerifyRun) -> str:
        """The report of ``run``. Every writer goes through here: it only sees the masked run
        (so a secret is masked before escaping could hide it), and its text is masked again."""
        return run.masker.text(self._render(run.masked()))

    @abstractmethod
    def _render(self, run: VerifyRun) -> str:  # pragma: no cover
        """The report of ``run``, whose texts are already masked."""
        raise NotImplementedError


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (secrets masked) to ``path`` via a temporary file and a rename."""
    path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(mask_text(text))
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as error:
        raise ReportError(f"cannot write report {path}: {error.strerror or error}") from None


def append_text(path: Path, text: str) -> None:
    """Append (GitHub's step summary file is shared by every step of a job)."""
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(mask_text(text))
    except OSError as error:
        raise ReportError(f"cannot append to {path}: {error.strerror or error}") from None
