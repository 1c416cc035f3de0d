"""GitHub Actions: error/warning annotations on the offending lines, and the step summary.

Workflow-command escaping follows actions/toolkit (``command.ts``): in messages ``%``, ``\\r``,
``\\n``; in properties also ``:`` and ``,``. GitHub shows at most 10 error and 10 warning
annotations per step, so only the first 10 of each are emitted; the rest is in the summary.
Workflow logs are public to everyone who can read the repository: annotations are built from
the masked run (:meth:`VerifyRun.masked`) and each line is masked again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opsctl.gates.interface import Severity, Status
from opsctl.reports.interface import VerifyRun, append_text
from opsctl.reports.markdown import MarkdownReport

MAX_PER_LEVEL = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_lines(run: VerifyRun) -> list[str]:
    """``::error``/``::warning`` lines: failing findings, then incomplete gates' reasons."""
    masker, run = run.masker, run.masked()  # before escaping, which would hide a URL's shape
    out: list[str] = []
    used = {"error": 0, "warning": 0}
    for result in run.results:
        for finding in result.findings:
            if finding.accepted or finding.severity is Severity.NOTE:
                continue
            level = "error" if finding.severity is Severity.ERROR else "warning"
            if used[level] >= MAX_PER_LEVEL:
                continue
            used[level] += 1
            properties = []
            if finding.file:
                properties.append(f"file={escape_property(finding.file)}")
                if finding.line:
                    properties.append(f"line={finding.line}")
                if finding.end_line:
                    properties.append(f"endLine={finding.end_line}")
            properties.append(f"title={escape_property(f'{result.gate}: {finding.rule}')}")
            out.append(f"::{level} {','.join(properties)}::{escape_data(finding.message)}")
        if result.status is Status.INCOMPLETE and used["warning"] < MAX_PER_LEVEL:
            used["warning"] += 1
            title = escape_property(f"{result.gate}: incomplete")
            message = escape_data("; ".join(result.reasons) or result.summary)
            out.append(f"::warning title={title}::{message}")
    return [masker.text(line) for line in out]


def under_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    return (environ if environ is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def write_step_summary(run: VerifyRun, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append the Markdown report (masked, as every report) to ``$GITHUB_STEP_SUMMARY``
    (if set); return the path."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    append_text(path, MarkdownReport().render(run))
    return path
