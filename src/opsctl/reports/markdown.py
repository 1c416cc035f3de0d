"""Markdown for pull requests and GitHub's step summary: the verdict first, details folded."""

from __future__ import annotations

from opsctl.gates.interface import GateResult, Severity, Status
from opsctl.reports.interface import ReportWriter, VerifyRun

ICONS = {
    Status.PASSED: "✅ passed",
    Status.FAILED: "❌ failed",
    Status.INCOMPLETE: "⚠️ incomplete",
    Status.SKIPPED: "⏭️ skipped",
}
MAX_FINDINGS = 50


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _headline(run: VerifyRun) -> str:
    failed, incomplete = run.count(Status.FAILED), run.count(Status.INCOMPLETE)
    passed, skipped = run.count(Status.PASSED), run.count(Status.SKIPPED)
    total = len(run.results)
    if failed:
        verdict = f"❌ {failed} of {total} gates failed"
    elif incomplete or run.partial:
        verdict = f"⚠️ {incomplete} of {total} gates incomplete"
    elif run.problems:  # a skipped gate is never counted as passed
        verdict = f"⚠️ {'; '.join(run.problems)}"
    elif skipped:
        verdict = f"✅ {passed} of {total} gates passed"
    else:
        verdict = f"✅ all {total} gates passed"
    if skipped and not run.problems:
        verdict += f", {skipped} skipped"
    partial = " (partial run: interrupted or stopped early)" if run.partial else ""
    return f"### opsctl verify — {verdict}{partial}"


def _provenance(run: VerifyRun) -> str | None:
    """One line: the commit verified and the hashes of the rules it was verified against."""
    found = run.provenance
    if not found:
        return None
    commit = found.get("commit")
    parts = [f"Commit `{str(commit)[:12]}`" if commit else "Not a git commit"]
    if found.get("dirty"):
        parts[0] += " with uncommitted changes"
    for key, label in (
        ("opsctl_yaml_sha256", "opsctl.yaml"),
        ("definition_of_done_sha256", "Definition of Done"),
    ):
        if found.get(key):
            parts.append(f"{label} `sha256:{str(found[key])[:12]}`")
    return " · ".join(parts)


def _gate_details(result: GateResult) -> list[str]:
    lines = [f"<details><summary><b>{result.gate}</b>: {ICONS[result.status]}</summary>", ""]
    if result.reasons:
        why = "Why skipped" if result.status is Status.SKIPPED else "Why not judged in full"
        lines += [f"**{why}:**", ""]
        lines += [f"- {_cell(reason)}" for reason in result.reasons]
        lines.append("")
    if result.measurements:
        lines += ["| Check | Value | Threshold | Result |", "|---|---|---|---|"]
        for m in result.measurements:
            threshold = "—" if m.threshold is None else f"{m.comparison} {m.threshold:g}{m.unit}"
            verdict = {True: "✅", False: "❌", None: "—"}[m.passed]
            lines.append(f"| {_cell(m.name)} | {m.render_value()} | {threshold} | {verdict} |")
        lines.append("")
    shown = [f for f in result.findings if f.severity is not Severity.NOTE or f.accepted]
    shown += [f for f in result.findings if f.severity is Severity.NOTE and not f.accepted]
    if shown:
        lines += ["| Severity | Rule | Where | Message |", "|---|---|---|---|"]
        for f in shown[:MAX_FINDINGS]:
            where = (
                f"`{f.file}:{f.line}`" if f.file and f.line else (f"`{f.file}`" if f.file else "")
            )
            severity = "accepted" if f.accepted else f.severity.value
            lines.append(f"| {severity} | {_cell(f.rule)} | {where} | {_cell(f.message)} |")
        if len(shown) > MAX_FINDINGS:
            lines.append(f"\n… and {len(shown) - MAX_FINDINGS} more (see the JSON or SARIF report)")
        lines.append("")
    if result.tools:
        tools = ", ".join(f"{name} {version}" for name, version in sorted(result.tools.items()))
        lines += [f"Tools: {tools}. Duration: {result.duration_s:.1f} s.", ""]
    lines += ["</details>", ""]
    return lines


class MarkdownReport(ReportWriter):
    format = "markdown"

    def _render(self, run: VerifyRun) -> str:
        lines = [_headline(run), ""]
        provenance = _provenance(run)
        if provenance:
            lines += [provenance, ""]
        lines += ["| Gate | Result | Summary |", "|---|---|---|"]
        for result in run.results:
            lines.append(f"| {result.gate} | {ICONS[result.status]} | {_cell(result.summary)} |")
        lines.append("")
        for note in run.notes:
            lines.append(f"> {note}")
        for result in run.results:
            lines += _gate_details(result)
        return "\n".join(lines) + "\n"
