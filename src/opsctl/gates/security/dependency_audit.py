"""pip-audit over the service's lock, judged by opsctl rather than by pip-audit's exit code.

The lock (``service.requirements``: a requirements file, ``uv.lock``, ``poetry.lock`` or
``pylock.toml``, see :mod:`opsctl.gates.security.locks`) is read into entries with their lines.
The auditable ones are written to a temporary requirements file, ``name==version`` per line,
which pip-audit audits with no network resolution (``--disable-pip --no-deps``); every finding
is mapped back to the lock's file and line. A lock that lists one package at two versions (a
universal lock's resolution forks) is audited in as many runs, one version per name each.

Every entry is audited whatever its environment marker (the lock ships on every platform it
names), except the packages the Definition of Done declares private (``security.private``): not
on the public index, they are reported as private and never sent to a vulnerability service. A
requirements file without hashes does not pin the dependencies of its requirements: the result
says so (``security/transitive-not-pinned``), as those were not audited.

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
import re
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
from opsctl.gates.security.settings import AcceptedFinding, PrivatePackage
from opsctl.gates.tools import run_tool

Key = tuple[str, str]  # (canonical name, normalised version), as pip-audit's JSON reports them

# the last words of a pip-audit that made no connection at all: its own ConnectionError, or
# requests' exception, which it lets through as a traceback
_UNREACHABLE = re.compile(
    r"Could not connect to|ConnectionError|ProxyError|ConnectTimeout|SSLError|"
    r"Max retries exceeded|NameResolutionError|Failed to establish a new connection"
)
_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?(?P<kind>\w+Error|\w+Timeout): ")
_HOST = re.compile(r"host='(?P<host>[^']+)'")
_CAUSE = re.compile(r"(\[Errno -?\d+\] [^'\")\]]+|Name or service not known|timed out)")


class ServiceUnreachableError(GateError):
    """pip-audit's vulnerability service answered nothing: no dependency was audited."""


def unreachable(stderr: str) -> ServiceUnreachableError | None:
    """Why pip-audit reached no vulnerability service, from the end of its stderr, if so."""
    last = [line.strip() for line in stderr.strip().splitlines()[-3:] if line.strip()]
    if not any(_UNREACHABLE.search(line) for line in last):
        return None
    final = last[-1]
    kind, host, cause = _EXCEPTION.match(final), _HOST.search(final), _CAUSE.search(final)
    if kind is None:  # pip-audit's own message, then its tip
        text = next(line for line in last if _UNREACHABLE.search(line))
        text = re.sub(r"^(ERROR:[\w.:]+:)", "", text).strip()
    else:
        text = kind["kind"] + (f" reaching {host['host']}" if host else "")
        text += f": {cause[0].strip()}" if cause else ""
    return ServiceUnreachableError(f"the vulnerability service could not be reached ({text})")


def answered_nothing(audit: DependencyAudit) -> ServiceUnreachableError | None:
    """Every dependency skipped by the service (a blocked index answers 404 to everything)."""
    if audit.audited or len(audit.service_skips) < 2:
        return None
    first = sorted(audit.service_skips.items())[0][1]
    return ServiceUnreachableError(
        f"the vulnerability service knows none of the {len(audit.service_skips)} dependencies "
        f"(pip-audit: {first}), so it is not reachable as it should be from here"
    )


@dataclass
class DependencyAudit:
    kind: str = "requirements"
    findings: list[Finding] = field(default_factory=list)
    audited: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why
    vulnerable: int = 0
    used_acceptances: set[str] = field(default_factory=set)
    project: list[str] = field(default_factory=list)  # the service itself, not a dependency
    markers: dict[str, str] = field(default_factory=dict)  # name==version -> marker (audited)
    private: dict[str, str] = field(default_factory=dict)  # name==version -> reason (not sent)
    unhashed: list[str] = field(default_factory=list)  # files whose dependencies are not locked
    files: list[str] = field(default_factory=list)  # every requirements file read
    audited_names: set[str] = field(default_factory=set)  # canonical names pip-audit audited
    # advisory ids and aliases pip-audit reported per audited (name, version), and its entry
    reported: dict[Key, set[str]] = field(default_factory=dict)
    entries: dict[Key, LockedPackage] = field(default_factory=dict)
    service_skips: dict[str, str] = field(default_factory=dict)  # name -> pip-audit's reason
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
    private: list[PrivatePackage],
    *,
    osv_url: str | None,
    today: dt.date,
    timeout_s: float,
    cancelled: threading.Event,
) -> DependencyAudit:
    lock = read_lock(root / requirements, requirements)
    audit = DependencyAudit(
        kind=lock.kind, project=lock.project, unhashed=lock.unhashed, files=lock.files
    )
    if lock.unhashed:  # one warning for the lock, naming each file
        files = ", ".join(lock.unhashed)
        audit.findings.append(
            Finding(
                rule="security/transitive-not-pinned",
                message=f"{files} ha{'s' if len(lock.unhashed) == 1 else 've'} requirements "
                "without --hash: pip resolves their dependencies when it installs them, so "
                "those transitive dependencies are not pinned here and were not audited",
                severity=Severity.WARNING,
                file=lock.unhashed[0],
                help="audit a complete lock instead (pip-compile --generate-hashes, "
                "uv pip compile --generate-hashes, uv export), or pin every dependency here",
            )
        )
    declared = {entry.canonical_name: entry for entry in private}
    auditable: list[LockedPackage] = []
    for package in lock.packages:
        entry = declared.get(canonicalize_name(package.name))
        if entry is not None:  # never sent to any vulnerability service
            _private(audit, requirements, package, entry)
            continue
        if package.marker and package.version:
            audit.markers[f"{package.name}=={package.version}"] = package.marker
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
            error = unreachable(run.stderr)
            if error is not None:
                raise error from None
            tail = " ".join(run.stderr.strip().splitlines()[-3:])
            raise GateError(
                f"pip-audit exited with {run.returncode} and no report: {tail}"
            ) from None
        judge_report(report, requirements, expected, accepted, today, audit)
    nothing = answered_nothing(audit)
    if nothing is not None:
        raise nothing
    for name in sorted(set(declared) - {canonicalize_name(p.name) for p in lock.packages}):
        audit.findings.append(
            Finding(
                rule="security/unused-private",
                message=f"{declared[name].name} is declared private but {requirements} "
                "does not list it",
                severity=Severity.WARNING,
                help="remove it from security.private in the Definition of Done",
            )
        )
    return audit


def _private(
    audit: DependencyAudit, requirements: str, package: LockedPackage, entry: PrivatePackage
) -> None:
    pinned = f"{package.name}=={package.version}" if package.version else package.name
    audit.private[pinned] = entry.reason
    audit.findings.append(
        Finding(
            rule="security/private",
            message=f"{pinned} is private (security.private: {entry.reason}): not audited, "
            "and never sent to a vulnerability service",
            severity=Severity.NOTE,
            file=package.file or requirements,
            line=package.line,
        )
    )


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
            audit.service_skips[name] = str(dependency["skip_reason"])
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
        audit.audited_names.add(name)
        vulns = dependency.get("vulns") or []
        audit.reported[key] = {
            str(name) for vuln in vulns for name in [vuln.get("id"), *(vuln.get("aliases") or [])]
        }
        audit.entries[key] = package
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
            file=package.file or requirements,
            line=package.line,
            help="pin it with == to a version published on the index, or declare it in "
            "security.private if it is not on the public index",
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
    file = package.file or requirements
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
                file=file,
                line=line,
                accepted=True,
            )
        return Finding(
            rule=f"pip-audit/{ident}",
            message=f"{text}; its acceptance expired on {entry.expires} ({entry.reason})",
            file=file,
            line=line,
            help=f"upgrade {name}, or renew the acceptance in the Definition of Done",
        )
    return Finding(
        rule=f"pip-audit/{ident}",
        message=text,
        file=file,
        line=line,
        help=f"upgrade {name} to a fixed version ({fixes})",
    )
