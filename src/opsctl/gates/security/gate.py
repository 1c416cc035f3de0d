"""The security gate: bandit over the code and pip-audit over the dependencies."""

from __future__ import annotations

import datetime as dt

from opsctl.gates.interface import (
    Finding,
    Gate,
    GateContext,
    GateError,
    GateResult,
    Measurement,
    Severity,
    Status,
)
from opsctl.gates.security.code_scan import CodeScan, scan_code
from opsctl.gates.security.dependency_check import check_dependencies
from opsctl.gates.security.locks.interface import LockError
from opsctl.gates.security.settings import SecuritySettings
from opsctl.gates.tools import tool_versions

_NAMED = 10  # files named in a reason; the details list them all


class SecurityGate(Gate):
    name = "security"
    description = "bandit finds nothing at the threshold; no dependency has a known advisory."

    def run(self, context: GateContext) -> GateResult:
        settings: SecuritySettings = context.definition_of_done.security
        project = context.project
        root = project.root
        today = context.options.get("today") or dt.datetime.now(dt.UTC).date()
        result = GateResult(gate=self.name, status=Status.PASSED, summary="")
        result.tools = tool_versions("bandit", "pip-audit")

        context.progress("bandit")
        code = scan_code(
            root,
            project.config.service.source,
            settings.bandit,
            settings.accepted,
            today=today,
            timeout_s=settings.timeout_s,
            cancelled=context.cancelled,
        )
        result.findings.extend(code.findings)
        result.details["bandit"] = {
            "files_scanned": code.files_scanned,
            "files_expected": code.files_expected,
            "not_scanned": code.not_scanned,
            "unparseable_files": code.unparseable,
            "internal_errors": code.internal_errors,
            "virtualenvs_not_scanned": code.virtualenvs,
            "findings": code.counts,
            "threshold": settings.bandit.model_dump(),
        }
        result.reasons.extend(_bandit_reasons(code, project.config.service.source))
        errors = sum(1 for f in code.findings if f.severity is Severity.ERROR)
        result.measurements.append(
            Measurement("bandit findings at threshold", errors, 0, "", "<=", errors == 0)
        )

        try:
            used = check_dependencies(context, settings, result, today)
        except GateError as error:  # keep bandit's verdict; the audit part could not judge
            result.reasons.append(f"dependencies not audited: {error}")
            if isinstance(error, LockError):
                result.findings.append(
                    Finding(
                        rule="security/unreadable-lock",
                        message=str(error),
                        severity=Severity.WARNING,
                        file=error.file,
                        line=error.line,
                        help="regenerate the lock with its tool, or fix it by hand",
                    )
                )
            used = set()
        used |= code.used_acceptances
        for entry in settings.accepted:
            if entry.expires < today and entry.id not in used:
                result.findings.append(
                    Finding(
                        rule="security/expired-acceptance",
                        message=f"acceptance of {entry.id} expired on {entry.expires}",
                        severity=Severity.WARNING,
                        help="remove it from the Definition of Done, or renew it with a reason",
                    )
                )
        result.status = _verdict(result)
        result.summary = _summary(result)
        return result


def _bandit_reasons(code: CodeScan, sources: list[str]) -> list[str]:
    reasons: list[str] = []
    if code.unparseable:
        unparseable = ", ".join(code.unparseable)
        reasons.append(f"bandit could not parse {len(code.unparseable)} file(s): {unparseable}")
    elif code.files_scanned == 0:
        reasons.append(f"bandit scanned no Python file in service.source ({', '.join(sources)})")
    if code.not_scanned:
        named = ", ".join(code.not_scanned[:_NAMED])
        more = (
            f", ... ({len(code.not_scanned) - _NAMED} more)"
            if len(code.not_scanned) > _NAMED
            else ""
        )
        reasons.append(
            f"bandit did not scan {len(code.not_scanned)} of the {code.files_expected} .py "
            f"file(s) under service.source: {named}{more}"
        )
    if code.internal_errors:
        reasons.append(
            f"bandit's checks crashed {len(code.internal_errors)} time(s), so they did not judge "
            "that code: " + "; ".join(code.internal_errors)
        )
    return reasons


def _verdict(result: GateResult) -> Status:
    failing = any(f.severity is Severity.ERROR and not f.accepted for f in result.findings)
    if failing or any(
        m.passed is False and m.name != "advisory database age" for m in result.measurements
    ):
        return Status.FAILED
    return Status.INCOMPLETE if result.reasons else Status.PASSED


def _summary(result: GateResult) -> str:
    bandit = result.details.get("bandit", {})
    parts = [
        f"bandit: {bandit.get('findings', {}).get('at or above threshold', 0)} finding(s) "
        f"in {bandit.get('files_scanned', 0)} file(s)"
    ]
    deps = result.details.get("dependencies")
    if deps and "audited" in deps:
        accepted = sum(1 for f in result.findings if f.accepted and f.rule.startswith("pip-"))
        open_vulns = sum(
            1 for f in result.findings if f.rule.startswith("pip-audit/") and not f.accepted
        )
        private = f"{len(deps['private'])} private (not audited), " if deps["private"] else ""
        no_record = deps.get("no_advisory_record") or []
        unknown = f" ({len(no_record)} with no record in the advisory DB)" if no_record else ""
        parts.append(
            f"pip-audit: {deps['audited']} audited{unknown}, {private}"
            f"{len(deps['not_audited'])} not audited, "
            f"{open_vulns} advisory(ies) open, {accepted} accepted"
        )
    elif deps and "skipped" in deps:
        parts.append("dependencies not audited (security.dependencies: false)")
    database = result.details.get("advisory_database")
    if database and database.get("age_days") is not None:
        parts.append(f"advisory DB {database['age_days']} days old")
    if result.reasons:
        parts.append(result.reasons[0])
    return "; ".join(parts)
