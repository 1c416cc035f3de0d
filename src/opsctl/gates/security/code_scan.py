"""bandit over ``service.source``, judged by opsctl rather than by bandit's exit code.

bandit exits 0 when a file does not parse, and turns a ``# nosec`` without a test id (or with
only free text) into a blanket suppression. So bandit runs with ``--ignore-nosec`` and opsctl
applies ``# nosec`` itself: only the test ids it names (``# nosec B602`` or ``# nosec: B602,B607``)
suppress, and a ``# nosec`` naming no test id suppresses nothing and is reported.

bandit also applies a ``.bandit`` file it finds under its targets, so code under review could
skip tests; opsctl passes an empty ``--ini`` instead and reports such a file. A test id can be
accepted project-wide in the Definition of Done (``security.accepted``), with a reason and an
expiry, like an advisory. The scanned files are counted from bandit's own metrics: no file
read is no judgement.

What bandit read is reconciled with opsctl's own walk of ``*.py`` under the sources
(:mod:`opsctl.gates.security.source_files`): bandit's default excludes (``CVS``, ``.git``,
``.tox``, ... matched as substrings of the whole path) are switched off with an empty
``--exclude``, and a file bandit still did not scan is named (``not_scanned``). A plugin that
crashes is only logged by bandit ("Bandit internal error running: ..."), the file still counted
as scanned: opsctl reads those lines, as the check did not run there (``internal_errors``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import sys
import tempfile
import threading
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.gates.interface import Finding, GateError, Severity
from opsctl.gates.security.settings import AcceptedFinding, BanditSettings
from opsctl.gates.security.source_files import SourceWalk, python_files
from opsctl.gates.tools import run_tool

_RANK = {"UNDEFINED": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
_NOSEC = re.compile(r"#\s*nosec\b:?(?P<rest>[^#]*)", re.IGNORECASE)
_TEST_ID = re.compile(r"^B\d{3}$")


# bandit's report_error: "Bandit internal error running: <test> on file <f> at line <n>: <error>"
_INTERNAL_ERROR = re.compile(
    r"Bandit internal error running: (?P<test>\S+) on file (?P<file>.+?) at line "
    r"(?P<line>\d+): (?P<error>[^\n]*)"
)
_LOGGED_ERROR = re.compile(r"^\[[\w.]+\]\s+(ERROR|CRITICAL)\s+(?P<message>.*)$", re.M)
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt|Exit)\b(: .*)?$")
# logged errors that bandit's report already carries (a file it could not scan is in "errors")
_REPORTED_ELSEWHERE = (
    "Bandit internal error running",
    "Exception occurred when executing tests against",
    'Run "bandit --debug',
)


@dataclass
class CodeScan:
    findings: list[Finding] = field(default_factory=list)
    unparseable: list[str] = field(default_factory=list)
    files_scanned: int = 0  # files bandit read and parsed, from its own metrics
    counts: dict[str, int] = field(default_factory=dict)
    used_acceptances: set[str] = field(default_factory=set)  # accepted ids that matched
    files_expected: int = 0  # *.py files under the sources, by opsctl's walk
    not_scanned: list[str] = field(default_factory=list)  # expected, absent from bandit's list
    internal_errors: list[str] = field(default_factory=list)  # "file:line: test: error"
    virtualenvs: list[str] = field(default_factory=list)  # folders neither walked nor scanned


def nosec_ids(comment: str) -> set[str] | None:
    """Test ids a ``# nosec`` comment names; ``None`` if the comment is not a nosec at all."""
    match = _NOSEC.search(comment)
    if match is None:
        return None
    return {
        token.upper()
        for token in re.split(r"[\s,]+", match["rest"])
        if _TEST_ID.match(token.upper())
    }


def nosec_comments(file: Path) -> dict[int, set[str]]:
    """Line -> test ids of every ``# nosec`` comment (comments only, never string contents)."""
    found: dict[int, set[str]] = {}
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                ids = nosec_ids(token.string)
                if ids is not None:
                    found[token.start[0]] = ids
    except (tokenize.TokenError, SyntaxError, OSError):
        pass  # bandit reports the file as unparseable
    return found


def bandit_configs(root: Path, sources: list[str]) -> list[str]:
    """Every ``.bandit`` file under the sources (bandit would apply one by itself)."""
    found: list[str] = []
    for source in sources:
        path = root / source
        if path.is_dir():
            found += [str(file.relative_to(root)) for file in sorted(path.rglob(".bandit"))]
    return found


def scan_code(
    root: Path,
    sources: list[str],
    settings: BanditSettings,
    accepted: list[AcceptedFinding],
    *,
    today: dt.date,
    timeout_s: float,
    cancelled: threading.Event,
) -> CodeScan:
    # bandit reads the first ``.bandit`` it finds under its targets and applies its skips,
    # excludes and tests: code under review would decide what is checked. An explicit --ini
    # with an empty [bandit] section means no discovered file is read.
    walk = python_files(root, sources)
    with tempfile.TemporaryDirectory(prefix="opsctl-bandit-") as folder:
        ini = Path(folder) / "bandit.ini"
        ini.write_text("[bandit]\n", encoding="utf-8")
        # --exclude replaces bandit's default list (.svn,CVS,.bzr,.hg,.git,__pycache__,.tox,
        # .eggs,*.egg, matched as substrings): only virtual environments are left out
        command = [
            sys.executable, "-m", "bandit", "-r", *sources, "-f", "json", "-q",
            "--ignore-nosec", "--ini", str(ini), "--exclude=" + ",".join(walk.virtualenvs),
        ]  # fmt: skip
        run = run_tool(command, cwd=root, timeout_s=timeout_s, cancelled=cancelled, name="bandit")
    if run.returncode not in (0, 1):
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        raise GateError(f"bandit exited with {run.returncode}: {' '.join(tail)}")
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except ValueError:
        raise GateError("bandit wrote no JSON report") from None
    scan = CodeScan()
    for config in bandit_configs(root, sources):
        scan.findings.append(
            Finding(
                rule="security/bandit-config-ignored",
                message="this .bandit file is ignored: opsctl runs bandit with its own settings",
                severity=Severity.WARNING,
                file=config,
                help="thresholds go in checks/definition-of-done.yaml (security.bandit); "
                "accept a finding with '# nosec BXXX # reason' or security.accepted",
            )
        )
    for error in report.get("errors") or []:
        scan.unparseable.append(str(error.get("filename")))
        scan.findings.append(
            Finding(
                rule="security/unparseable",
                message=f"bandit could not scan this file: {error.get('reason')}",
                severity=Severity.WARNING,
                file=str(error.get("filename")),
                help="fix the syntax error: a file bandit cannot parse is not checked",
            )
        )
    # what bandit itself read (its metrics name every file), not what opsctl expects it to read
    files = [name for name in report.get("metrics") or {} if name != "_totals"]
    scan.files_scanned = len(set(files) - set(scan.unparseable))
    _reconcile(root, walk, [*files, *scan.unparseable], scan)
    _internal_errors(run.stderr, scan)
    comments = {file: nosec_comments(root / file) for file in files}
    minimum = (_RANK[settings.severity.upper()], _RANK[settings.confidence.upper()])
    for item in report.get("results") or []:
        scan.findings.append(_judge(item, comments, minimum, accepted, today, scan))
    for file, lines in sorted(comments.items()):
        for line, ids in sorted(lines.items()):
            if not ids:
                scan.counts["bare nosec"] = scan.counts.get("bare nosec", 0) + 1
                scan.findings.append(
                    Finding(
                        rule="security/bare-nosec",
                        message="'# nosec' without a test id suppresses nothing here",
                        file=file,
                        line=line,
                        help="name the test it silences and why: '# nosec B602 # reason'",
                    )
                )
    return scan


def _judge(
    item: dict[str, Any],
    comments: dict[str, dict[int, set[str]]],
    minimum: tuple[int, int],
    accepted: list[AcceptedFinding],
    today: dt.date,
    scan: CodeScan,
) -> Finding:
    counts = scan.counts
    file = str(item.get("filename", ""))
    line = int(item.get("line_number") or 0) or None
    test_id = str(item.get("test_id", "?"))
    severity = str(item.get("issue_severity", "UNDEFINED")).upper()
    confidence = str(item.get("issue_confidence", "UNDEFINED")).upper()
    lines = item.get("line_range") or ([line] if line else [])
    suppressed = any(test_id in comments.get(file, {}).get(n, set()) for n in lines)
    at_threshold = _RANK.get(severity, 0) >= minimum[0]
    at_threshold = at_threshold and _RANK.get(confidence, 0) >= minimum[1]
    text = f"{test_id} {item.get('issue_text', '')} (severity {severity}, confidence {confidence})"
    if suppressed:
        counts["suppressed by # nosec"] = counts.get("suppressed by # nosec", 0) + 1
        return Finding(
            rule=f"bandit/{test_id}",
            message=f"{text}; suppressed by '# nosec {test_id}'",
            severity=Severity.NOTE,
            file=file,
            line=line,
            accepted=True,
        )
    entry = next((e for e in accepted if e.id.upper() == test_id.upper()), None)
    if entry is not None:
        scan.used_acceptances.add(entry.id)
        if entry.expires >= today:
            counts["accepted"] = counts.get("accepted", 0) + 1
            return Finding(
                rule=f"bandit/{test_id}",
                message=f"{text}; accepted until {entry.expires}: {entry.reason}",
                severity=Severity.NOTE,
                file=file,
                line=line,
                accepted=True,
            )
        text += f"; its acceptance expired on {entry.expires} ({entry.reason})"
    key = "at or above threshold" if at_threshold else "below threshold"
    counts[key] = counts.get(key, 0) + 1
    return Finding(
        rule=f"bandit/{test_id}",
        message=text,
        severity=Severity.ERROR if at_threshold else Severity.NOTE,
        file=file,
        line=line,
        end_line=max(lines) if lines else None,
        help=str(item.get("more_info") or "") or None,
    )


def _reconcile(root: Path, walk: SourceWalk, scanned: list[str], scan: CodeScan) -> None:
    """Name every ``*.py`` file under the sources that is not in bandit's own list."""
    read = {(root / name).resolve() for name in scanned}
    scan.files_expected = len(walk.files)
    scan.virtualenvs = walk.virtualenvs
    scan.not_scanned = sorted(shown for real, shown in walk.files.items() if real not in read)
    for file in scan.not_scanned:
        scan.findings.append(
            Finding(
                rule="security/not-scanned",
                message="bandit did not scan this file, although it is under service.source",
                severity=Severity.WARNING,
                file=file,
                help="bandit does not follow links to folders: name the link's target in "
                "service.source; or move the file where bandit reads it",
            )
        )


def _internal_errors(stderr: str, scan: CodeScan) -> None:
    """bandit logs a crashed plugin and carries on: that check did not run on that code."""
    for match in _INTERNAL_ERROR.finditer(stderr):
        file, line = os.path.normpath(match["file"]), int(match["line"])
        # bandit appends the traceback to str(error) without a separator; its last line names
        # the exception ("KeyError: 'sql'"), which says more than str(error) alone ("'sql'")
        error = match["error"].split("Traceback (most recent call last)")[0].strip()
        following = _LOGGED_ERROR.split(stderr[match.end() :], maxsplit=1)[0]
        raised = [text for text in following.splitlines() if _RAISED.match(text)]
        error = raised[-1].strip() if raised else error
        scan.internal_errors.append(f"{file}:{line}: {match['test']}: {error}")
        scan.findings.append(
            Finding(
                rule="security/bandit-internal-error",
                message=f"bandit's check {match['test']} crashed here ({error}): "
                "it did not judge this code",
                severity=Severity.WARNING,
                file=file,
                line=line,
                help="rewrite the construct the check trips on, or upgrade bandit; the gate "
                "stays incomplete while a check cannot run",
            )
        )
    for logged in _LOGGED_ERROR.finditer(stderr):
        message = logged["message"].strip()
        if not message.startswith(_REPORTED_ELSEWHERE):
            scan.internal_errors.append(message)
