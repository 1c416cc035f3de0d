"""The dependency half of the security gate: the advisory service, pip-audit, and the reconciling.

What the result must say beyond pip-audit's own report:

- private packages (``security.private``) are named, never queried;
- with an offline advisory database, "no advisory" is weaker than it looks: the PyPA database
  holds only packages that have had an advisory, so for a package it has no record of at all
  it vouches for nothing (not even that the name exists on the public index; a typo or an
  internal name looks the same). That is the normal case for most packages, so it is not a
  reason to stop the gate: the names are listed (``no_advisory_record``), counted in the
  summary and in one note, so a reader sees what "clean" rests on;
- every advisory the local database matched must be in pip-audit's report (pip-audit skips
  records it cannot read with only a log line): one it left out makes the gate incomplete;
- a vulnerability service that cannot be reached at all is one reason with the fix, not one
  line per package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.gates.interface import Finding, GateContext, GateResult, Measurement, Severity
from opsctl.gates.security.advisories import AdvisoryDatabase
from opsctl.gates.security.advisory_snapshot import AdvisoryDateError, snapshot
from opsctl.gates.security.dependency_audit import (
    DependencyAudit,
    ServiceUnreachableError,
    audit_dependencies,
)
from opsctl.gates.security.osv_server import query_url, serve_osv
from opsctl.gates.security.settings import SecuritySettings

UNREACHABLE_FIX = (
    "point security.advisory_db (or --advisory-db, or OPSCTL_ADVISORY_DB where the Definition "
    "of Done reads it) at an offline copy of the PyPA advisory database"
)
_NAMES_IN_A_MESSAGE = 8


@dataclass
class AdvisoryService:
    """Where pip-audit asks: a local OSV server over ``database``, or the online service."""

    url: str | None = None
    database: AdvisoryDatabase | None = None
    answers: dict[tuple[str, str], dict[str, frozenset[str]]] = field(default_factory=dict)


def check_dependencies(
    context: GateContext, settings: SecuritySettings, result: GateResult, today: dt.date
) -> set[str]:
    """Audit the dependencies into ``result``; return the accepted ids that matched a finding."""
    requirements = context.project.config.service.requirements
    if not settings.dependencies:
        result.details["dependencies"] = {"skipped": "security.dependencies is false"}
        return set()
    if requirements is None:
        result.reasons.append("service.requirements is not set: dependencies not audited")
        return set()
    database_path = context.options.get("advisory_db") or settings.advisory_db
    with advisory_service(context, database_path, settings, result) as service:
        context.progress("pip-audit")
        try:
            audit = audit_dependencies(
                context.project.root,
                requirements,
                settings.accepted,
                settings.private,
                osv_url=service.url,
                today=today,
                timeout_s=settings.timeout_s,
                cancelled=context.cancelled,
            )
        except ServiceUnreachableError as error:
            result.reasons.append(f"dependencies not audited: {error}: {UNREACHABLE_FIX}")
            return set()
    result.findings.extend(audit.findings)
    details = _details(requirements, audit)
    result.details["dependencies"] = details
    if service.database is not None:
        _no_record(service.database, requirements, audit, details, result)
        _unreported(service.answers, requirements, audit, result)
    if audit.skipped:
        count = len(audit.skipped)
        result.reasons.append(
            f"{count} dependenc{'y' if count == 1 else 'ies'} could not be audited: "
            + ", ".join(sorted(audit.skipped))
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


def _details(requirements: str, audit: DependencyAudit) -> dict[str, Any]:
    details: dict[str, Any] = {
        "requirements": requirements,
        "lock_format": audit.kind,
        "files": audit.files,
        "audited": audit.audited,
        "not_audited": audit.skipped,
        "vulnerable_packages": audit.vulnerable,
        "project_not_audited": audit.project,
        "private": audit.private,
        "audited_whatever_marker": audit.markers,
        "transitive_not_pinned": audit.unhashed,
        "pip_audit_runs": audit.runs,
    }
    if audit.project:
        details["project_note"] = (
            "the service itself (" + ", ".join(audit.project) + ") is not a dependency: "
            "left out of the audit"
        )
    return details


def _no_record(
    database: AdvisoryDatabase,
    requirements: str,
    audit: DependencyAudit,
    details: dict[str, Any],
    result: GateResult,
) -> None:
    unknown = sorted(name for name in audit.audited_names if not database.has_records(name))
    details["no_advisory_record"] = unknown
    if not unknown:
        return
    shown = ", ".join(unknown[:_NAMES_IN_A_MESSAGE]) + (
        f", ... ({len(unknown) - _NAMES_IN_A_MESSAGE} more)"
        if len(unknown) > _NAMES_IN_A_MESSAGE
        else ""
    )
    result.findings.append(
        Finding(
            rule="security/no-advisory-record",
            message=f"{len(unknown)} of {audit.audited} audited packages have no record at all "
            f"in the offline advisory database ({shown}): it lists only packages that have had "
            "an advisory, so for these 'no advisory' cannot tell a clean package from a name "
            "unknown to the public index",
            severity=Severity.NOTE,
            file=requirements,
            help="declare internal packages in security.private; the full list is in the "
            "report's details (dependencies.no_advisory_record)",
        )
    )


def _unreported(
    answers: dict[tuple[str, str], dict[str, frozenset[str]]],
    requirements: str,
    audit: DependencyAudit,
    result: GateResult,
) -> None:
    """Advisories the local database matched that pip-audit's report does not name."""
    dropped: list[str] = []
    for key, advisories in sorted(answers.items()):
        package = audit.entries.get(key)
        if package is None:
            continue  # not an entry pip-audit reported on: already not audited
        reported = audit.reported.get(key, set())
        for ident, names in sorted(advisories.items()):
            if names & reported:
                continue
            pinned = f"{package.name}=={package.version}"
            dropped.append(f"{ident} ({pinned})")
            result.findings.append(
                Finding(
                    rule="security/advisory-not-read",
                    message=f"the advisory database matches {ident} for {pinned}, but pip-audit "
                    "did not report it (it skips records it cannot read, such as an OSV "
                    "schema_version other than 1.x)",
                    severity=Severity.WARNING,
                    file=package.file or requirements,
                    line=package.line,
                    help=f"read {ident} and fix the record, or upgrade {package.name}",
                )
            )
    if dropped:
        result.reasons.append(
            "pip-audit left out advisories the database matches: " + ", ".join(dropped)
        )


@contextlib.contextmanager
def advisory_service(
    context: GateContext,
    database_path: str | None,
    settings: SecuritySettings,
    result: GateResult,
) -> Iterator[AdvisoryService]:
    """A local OSV server over the advisory database, or pip-audit's online service."""
    if not database_path:
        result.details["advisory_database"] = {"source": "online (pip-audit default service)"}
        yield AdvisoryService()
        return
    path = Path(database_path)
    if not path.is_absolute():
        path = context.project.root / path
    database = AdvisoryDatabase.open(path)
    _judge_age(database, path, settings, result)
    context.progress("serving the advisory database on 127.0.0.1")
    with serve_osv(database) as server:
        service = AdvisoryService(query_url(server), database, server.answers)
        yield service
        if server.errors:
            result.reasons.append("the local advisory database failed: " + server.errors[0])
    result.details["advisory_database"]["queries"] = server.queries


def _judge_age(
    database: AdvisoryDatabase, path: Path, settings: SecuritySettings, result: GateResult
) -> None:
    limit = settings.max_advisory_age_days
    details: dict[str, Any] = {"source": str(path), "max_age_days": limit}
    result.details["advisory_database"] = details
    now = dt.datetime.now(dt.UTC)
    try:
        dated = snapshot(database, path, now)
    except AdvisoryDateError as error:
        details["age_days"] = None
        result.reasons.append(f"advisory database: {error}")
        if limit is not None:
            result.measurements.append(
                Measurement("advisory database age", None, limit, " days", "<=", False)
            )
        return
    age_days = (now - dated.date).days
    details.update(
        snapshot_date=dated.date.isoformat(),
        dated_by=dated.source,
        newest_modified=dated.newest_modified.isoformat() if dated.newest_modified else None,
        records=dated.records,
        age_days=age_days,
    )
    if limit is None:
        return
    passed = age_days <= limit
    result.measurements.append(
        Measurement("advisory database age", age_days, limit, " days", "<=", passed)
    )
    if not passed:
        result.reasons.append(
            f"the advisory database is {age_days} days old (snapshot of "
            f"{dated.date.date()}, by its {dated.source}), more than max_advisory_age_days "
            f"{limit}: update it, it cannot know newer advisories"
        )
