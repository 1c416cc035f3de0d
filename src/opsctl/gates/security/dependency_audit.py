"""pip-audit over the pinned requirements, judged by opsctl rather than by pip-audit's exit code.

pip-audit exits 0 when every dependency was skipped, and drops ignored advisories from its
report. So opsctl runs it without ``--strict`` or ``--ignore-vuln``, reads the JSON, makes any
skipped dependency an ``incomplete`` (naming it), and applies the Definition of Done's accepted
findings itself: an accepted advisory is still reported, as accepted; an expired acceptance no
longer suppresses and is reported as expired.
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

from opsctl.gates.interface import Finding, GateError, Severity
from opsctl.gates.security.settings import AcceptedFinding
from opsctl.gates.tools import run_tool

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class DependencyAudit:
    findings: list[Finding] = field(default_factory=list)
    audited: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why
    vulnerable: int = 0
    used_acceptances: set[str] = field(default_factory=set)


def requirement_lines(file: Path) -> dict[str, int]:
    """Canonical package name -> line of its requirement (for annotations)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        match = _NAME.match(line)
        if match and not line.lstrip().startswith(("-", "#")):
            lines.setdefault(canonicalize_name(match[1]), number)
    return lines


def audit_command(requirements: Path, osv_url: str | None, cache_dir: Path) -> list[str]:
    """pip-audit without network resolution: every line must be pinned (``==``).

    ``--disable-pip`` needs either hashes on every line (a hashed lock) or ``--no-deps``;
    a dedicated cache dir keeps answers of one advisory database from leaking into another run.
    """
    command = [
        sys.executable, "-m", "pip_audit", "-r", str(requirements), "-f", "json",
        "--progress-spinner", "off", "--disable-pip", "--cache-dir", str(cache_dir),
    ]  # fmt: skip
    if "--hash=" not in requirements.read_text(encoding="utf-8"):
        command.append("--no-deps")
    if osv_url is not None:
        command += ["-s", "osv", "--osv-url", osv_url]
    return command


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
    file = root / requirements
    if not file.is_file():
        raise GateError(f"service.requirements not found: {requirements}")
    with tempfile.TemporaryDirectory(prefix="opsctl-pip-audit-") as cache:
        command = audit_command(file, osv_url, Path(cache))
        run = run_tool(
            command, cwd=root, timeout_s=timeout_s, cancelled=cancelled, name="pip-audit"
        )
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except ValueError:
        tail = " ".join(run.stderr.strip().splitlines()[-3:])
        raise GateError(f"pip-audit exited with {run.returncode} and no report: {tail}") from None
    return judge_report(report, requirements, requirement_lines(file), accepted, today)


def judge_report(
    report: dict[str, Any],
    requirements: str,
    lines: dict[str, int],
    accepted: list[AcceptedFinding],
    today: dt.date,
) -> DependencyAudit:
    audit = DependencyAudit()
    for dependency in report.get("dependencies") or []:
        name = str(dependency.get("name"))
        line = lines.get(canonicalize_name(name))
        if "skip_reason" in dependency:
            reason = str(dependency["skip_reason"])
            audit.skipped[name] = reason
            audit.findings.append(
                Finding(
                    rule="security/not-audited",
                    message=f"{name} could not be audited: {reason}",
                    severity=Severity.WARNING,
                    file=requirements,
                    line=line,
                    help="pin it with == to a version published on the index, or remove it",
                )
            )
            continue
        audit.audited += 1
        version = str(dependency.get("version"))
        vulns = dependency.get("vulns") or []
        if vulns:
            audit.vulnerable += 1
        for vuln in vulns:
            audit.findings.append(
                _judge_vuln(name, version, vuln, requirements, line, accepted, today, audit)
            )
    return audit


def _judge_vuln(
    name: str,
    version: str,
    vuln: dict[str, Any],
    requirements: str,
    line: int | None,
    accepted: list[AcceptedFinding],
    today: dt.date,
    audit: DependencyAudit,
) -> Finding:
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
