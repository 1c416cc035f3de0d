"""pip-audit over the service's lock, judged by opsctl rather than by pip-audit's exit code.

The lock (``service.requirements``: a requirements file, ``uv.lock``, ``poetry.lock`` or
``pylock.toml``, see :mod:`opsctl.gates.security.locks`) is read into entries with their lines.
The auditable ones are written to a temporary requirements file, ``name==version`` per line,
which pip-audit audits with no network resolution (``--disable-pip --no-deps``); every finding
is mapped back to the lock's file and line. A lock that lists one package at two versions (a
universal lock's resolution forks) is audited in as many runs, one version per name each.

pip-audit exits 0 when every dependency was skipped, and drops ignored advisories from its
report. So opsctl runs it without ``--strict`` or ``--ignore-vuln``, reads the JSON and
reconciles it with the lock: an entry pip-audit skipped, or did not report on at all, is not
audited (the gate is ``incomplete``, naming it), and so is an entry that cannot be audited
(git, path, URL, unpinned). It applies the Definition of Done's accepted findings itself: an
accepted advisory is still reported, as accepted; an expired acceptance no longer suppresses
and is reported as expired.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from opsctl.gates.interface import Finding, GateError, Severity
from opsctl.gates.security.locks.interface import LockedPackage, read_lock
from opsctl.gates.security.settings import AcceptedFinding
from opsctl.gates.tools import run_tool

Key = tuple[str, str]  # (canonical name, normalised version), as pip-audit's JSON reports them


@dataclass
class DependencyAudit:
    kind: str = "requirements"
    findings: list[Finding] = field(default_factory=list)
    audited: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why
    vulnerable: int = 0
    used_acceptances: set[str] = field(default_factory=set)
    project: list[str] = field(default_factory=list)  # the service itself, not a dependency
    excluded: dict[str, str] = field(default_factory=dict)  # name -> why (marker false here)
    runs: int = 0  # pip-audit invocations


def audit_command(requirements: Path, osv_url: str | None, cache_dir: Path) -> list[str]:
    """pip-audit on a pinned, unhashed requirements file, without network resolution.

    ``--disable-pip`` needs either hashes on every line or ``--no-deps``; the file opsctl writes
    has no hashes. A dedicated cache dir keeps answers of one advisory database from leaking
    into another run.
    """
    command = [
        sys.executable, "-m", "pip_audit", "-r", str(requirements), "-f", "json",
        "--progress-spinner", "off", "--disable-pip", "--no-deps", "--cache-dir", str(cache_dir),
    ]  # fmt: skip
    if osv_url is not None:
        command += ["-s", "osv", "--osv-url", osv_url]
    return command


def audit_rounds(packages: list[LockedPackage]) -> list[dict[Key, LockedPackage]]:
    """The auditable entries keyed by (name, version), split so no run has a name twice.

    The first entry of a (name, version) is the one findings point at.
    """
    rounds: list[dict[Key, LockedPackage]] = []
    for package in packages:
        if package.version is None:  # not auditable: callers leave these out
            continue
        version = Version(package.version)
        key = (canonicalize_name(package.name), str(version))
        if any(k[0] == key[0] and Version(k[1]) == version for run in rounds for k in run):
            continue  # the same version (1.0 == 1): audited once, at its first entry
        target = next((run for run in rounds if all(k[0] != key[0] for k in run)), None)
        if target is None:
            target = {}
            rounds.append(target)
        target[key] = package
    return rounds


def audit_dependencies(
    root: Path,
    requirements: str,
    accepted: list[AcceptedFinding],
    *,
    osv_url: str | None,
    today: dt.date,
    timeout_s: float,
    cancelled: threading.Event,
) -> DependencyAudit:
    lock = read_lock(root / requirements, requirements)
    audit = DependencyAudit(kind=lock.kind, project=lock.project, excluded=lock.excluded)
    auditable: list[LockedPackage] = []
    for package in lock.packages:
        why = package.not_auditable
        if why is None and package.version is None:
            why = "no version in the lock"
        if why is None and package.version is not None:
            try:
                Version(package.version)
            except InvalidVersion:
                why = f"version {package.version} is not a PEP 440 version"
        if why is None:
            auditable.append(package)
        else:
            _not_audited(audit, requirements, package, why)
    for expected in audit_rounds(auditable):
        with tempfile.TemporaryDirectory(prefix="opsctl-pip-audit-") as work:
            pinned = Path(work) / "requirements.txt"
            pinned.write_text(
                "".join(f"{name}=={version}\n" for name, version in expected), encoding="utf-8"
            )
            cache = Path(work) / "cache"
            run = run_tool(
                audit_command(pinned, osv_url, cache),
                cwd=root,
                timeout_s=timeout_s,
                cancelled=cancelled,
                name="pip-audit",
            )
        audit.runs += 1
        try:
            report: dict[str, Any] = json.loads(run.stdout)
        except ValueError:
            tail = " ".join(run.stderr.strip().splitlines()[-3:])
            raise GateError(
                f"pip-audit exited with {run.returncode} and no report: {tail}"
            ) from None
        judge_report(report, requirements, expected, accepted, today, audit)
    return audit


def judge_report(
    report: dict[str, Any],
    requirements: str,
    expected: dict[Key, LockedPackage],
    accepted: list[AcceptedFinding],
    today: dt.date,
    audit: DependencyAudit,
) -> None:
    """Reconcile one pip-audit JSON report with the entries it was asked to audit."""
    remaining = dict(expected)
    for dependency in report.get("dependencies") or []:
        name = canonicalize_name(str(dependency.get("name")))
        if "skip_reason" in dependency:
            keys = [key for key in remaining if key[0] == name]
            for key in keys:
                _not_audited(
                    audit, requirements, remaining.pop(key), str(dependency["skip_reason"])
                )
            continue
        try:
            key = (name, str(Version(str(dependency.get("version")))))
        except InvalidVersion:
            continue
        package = remaining.pop(key, None)
        if package is None:  # not asked for (or reported twice): nothing in the lock to judge
            continue
        audit.audited += 1
        vulns = dependency.get("vulns") or []
        if vulns:
            audit.vulnerable += 1
        for vuln in vulns:
            audit.findings.append(_judge_vuln(package, vuln, requirements, accepted, today, audit))
    for package in remaining.values():
        _not_audited(audit, requirements, package, "pip-audit did not report on it")


def _not_audited(
    audit: DependencyAudit, requirements: str, package: LockedPackage, reason: str
) -> None:
    key = package.name
    if key in audit.skipped:
        key = (
            f"{package.name}=={package.version}"
            if package.version
            else f"{key} (line {package.line})"
        )
    audit.skipped[key] = reason
    pinned = f"{package.name}=={package.version}" if package.version else package.name
    audit.findings.append(
        Finding(
            rule="security/not-audited",
            message=f"{pinned} could not be audited: {reason}",
            severity=Severity.WARNING,
            file=requirements,
            line=package.line,
            help="pin it with == to a version published on the index, or remove it",
        )
    )


def _judge_vuln(
    package: LockedPackage,
    vuln: dict[str, Any],
    requirements: str,
    accepted: list[AcceptedFinding],
    today: dt.date,
    audit: DependencyAudit,
) -> Finding:
    name, version, line = package.name, package.version, package.line
    ident = str(vuln.get("id"))
    names = {ident, *(str(alias) for alias in vuln.get("aliases") or [])}
    fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
    aliases = ", ".join(sorted(names - {ident}))
    text = f"{name}=={version} is affected by {ident}" + (f" ({aliases})" if aliases else "")
    text += f"; fixed in: {fixes}"
    entry = next((item for item in accepted if item.id in names), None)
    if entry is not None:
        audit.used_acceptances.add(entry.id)
        if entry.expires >= today:
            return Finding(
                rule=f"pip-audit/{ident}",
                message=f"{text}; accepted until {entry.expires}: {entry.reason}",
                severity=Severity.NOTE,
                file=requirements,
                line=line,
                accepted=True,
            )
        return Finding(
            rule=f"pip-audit/{ident}",
            message=f"{text}; its acceptance expired on {entry.expires} ({entry.reason})",
            file=requirements,
            line=line,
            help=f"upgrade {name}, or renew the acceptance in the Definition of Done",
        )
    return Finding(
        rule=f"pip-audit/{ident}",
        message=text,
        file=requirements,
        line=line,
        help=f"upgrade {name} to a fixed version ({fixes})",
    )
