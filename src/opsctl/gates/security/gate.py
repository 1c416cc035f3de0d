"""The security gate: bandit over the code and pip-audit over the dependencies."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

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
from opsctl.gates.security.advisories import AdvisoryDatabase
from opsctl.gates.security.code_scan import scan_code
from opsctl.gates.security.dependency_audit import audit_dependencies
from opsctl.gates.security.locks.interface import LockError
from opsctl.gates.security.osv_server import query_url, serve_osv
from opsctl.gates.security.settings import SecuritySettings
from opsctl.gates.tools import tool_versions


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
            "unparseable_files": code.unparseable,
            "findings": code.counts,
            "threshold": settings.bandit.model_dump(),
        }
        if code.unparseable:
            result.reasons.append(
                f"bandit could not parse {len(code.unparseable)} file(s): "
                + ", ".join(code.unparseable)
            )
        elif code.files_scanned == 0:
            sources = ", ".join(project.config.service.source)
            result.reasons.append(f"bandit scanned no Python file in service.source ({sources})")
        errors = sum(1 for f in code.findings if f.severity is Severity.ERROR)
        result.measurements.append(
            Measurement("bandit findings at threshold", errors, 0, "", "<=", errors == 0)
        )

        try:
            used = self._audit(context, settings, result, today)
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

    def _audit(
        self,
        context: GateContext,
        settings: SecuritySettings,
        result: GateResult,
        today: dt.date,
    ) -> set[str]:
        """Audit the dependencies; return the accepted ids that matched a finding."""
        requirements = context.project.config.service.requirements
        if not settings.dependencies:
            result.details["dependencies"] = {"skipped": "security.dependencies is false"}
            return set()
        if requirements is None:
            result.reasons.append("service.requirements is not set: dependencies not audited")
            return set()
        database_path = context.options.get("advisory_db") or settings.advisory_db
        with _advisory_service(context, database_path, settings, result) as osv_url:
            context.progress("pip-audit")
            audit = audit_dependencies(
                context.project.root,
                requirements,
                settings.accepted,
                osv_url=osv_url,
                today=today,
                timeout_s=settings.timeout_s,
                cancelled=context.cancelled,
            )
        result.findings.extend(audit.findings)
        result.details["dependencies"] = {
            "requirements": requirements,
            "lock_format": audit.kind,
            "audited": audit.audited,
            "not_audited": audit.skipped,
            "vulnerable_packages": audit.vulnerable,
            "project_not_audited": audit.project,
            "excluded_by_marker": audit.excluded,
            "pip_audit_runs": audit.runs,
        }
        if audit.project:
            result.details["dependencies"]["project_note"] = (
                "the service itself (" + ", ".join(audit.project) + ") is not a dependency: "
                "left out of the audit"
            )
        if audit.skipped:
            result.reasons.append(
                f"{len(audit.skipped)} dependenc{'y' if len(audit.skipped) == 1 else 'ies'} "
                "could not be audited: " + ", ".join(sorted(audit.skipped))
            )
        elif audit.audited == 0:
            result.reasons.append(f"{requirements} lists no dependency: pip-audit audited nothing")
        open_vulns = sum(
            1 for f in audit.findings if f.rule.startswith("pip-audit/") and not f.accepted
        )
        result.measurements.append(
            Measurement("known advisories (not accepted)", open_vulns, 0, "", "<=", open_vulns == 0)
        )
        return audit.used_acceptances


@contextlib.contextmanager
def _advisory_service(
    context: GateContext,
    database_path: str | None,
    settings: SecuritySettings,
    result: GateResult,
) -> Iterator[str | None]:
    """The OSV URL of the local advisory database, or ``None`` for pip-audit's online service."""
    if not database_path:
        result.details["advisory_database"] = {"source": "online (pip-audit default service)"}
        yield None
        return
    path = Path(database_path)
    if not path.is_absolute():
        path = context.project.root / path
    database = AdvisoryDatabase.open(path)
    newest = database.newest_modified()
    now = dt.datetime.now(dt.UTC)
    age_days = (now - newest).days if newest is not None else None
    result.details["advisory_database"] = {
        "source": str(path),
        "newest_modified": newest.isoformat() if newest else None,
        "age_days": age_days,
        "max_age_days": settings.max_advisory_age_days,
    }
    if settings.max_advisory_age_days is not None:
        passed = age_days is not None and age_days <= settings.max_advisory_age_days
        result.measurements.append(
            Measurement(
                "advisory database age",
                age_days,
                settings.max_advisory_age_days,
                " days",
                "<=",
                passed,
            )
        )
        if not passed:
            result.reasons.append(
                f"the advisory database is {age_days} days old (newest advisory modified "
                f"{newest.date() if newest else 'never'}), more than max_advisory_age_days "
                f"{settings.max_advisory_age_days}: update it, it cannot know newer advisories"
            )
    context.progress("serving the advisory database on 127.0.0.1")
    with serve_osv(database) as server:
        yield query_url(server)
        if server.errors:
            result.reasons.append("the local advisory database failed: " + server.errors[0])
    result.details["advisory_database"]["queries"] = server.queries


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
        parts.append(
            f"pip-audit: {deps['audited']} audited, {len(deps['not_audited'])} not audited, "
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
