"""The security gate over every lock format: real pip-audit against the local OSV fixtures."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.opsctl.gates.security.helpers import run_root

from opsctl.gates.interface import Finding, GateResult, Status
from opsctl.gates.security.dependency_audit import DependencyAudit, audit_rounds, judge_report
from opsctl.gates.security.locks.interface import LockedPackage

SECURITY = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "security"
LOCKS = SECURITY / "locks"
FORMATS = {"uv": "uv.lock", "poetry": "poetry.lock", "pylock": "pylock.toml"}
# line of each entry's `name =` in the fixture locks
REQUESTS_LINE = {"uv": 48, "poetry": 39, "pylock": 41}
GIT_LINE = {"uv": 24, "poetry": 24, "pylock": 29}


def make_project(lock: Path, tmp_path: Path, where: str | None = None) -> Path:
    """The fixture service with ``lock`` as its service.requirements (at ``where``).

    The uv fixtures are stored as ``uv.lock.fixture`` (no ``uv.lock`` is ever committed) and
    copied into place under their real name.
    """
    if not lock.exists() and lock.with_name(lock.name + ".fixture").is_file():
        lock = lock.with_name(lock.name + ".fixture")
    root = tmp_path / "service"
    shutil.copytree(LOCKS / "project", root)
    shutil.copytree(SECURITY / "advisories", root / "advisories")
    target = where or lock.name.removesuffix(".fixture")
    (root / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(lock, root / target)
    (root / "opsctl.yaml").write_text(
        "service:\n  name: myservice\n  source: [src/app]\n"
        f"  requirements: {target}\n"
        "environments:\n  local:\n    url: http://127.0.0.1:1\n"
    )
    return root


def only(result: GateResult, rule: str) -> Finding:
    found = [f for f in result.findings if f.rule == rule]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_vulnerable_entry_fails_at_its_line_in_the_lock(fmt: str, tmp_path: Path) -> None:
    lock = FORMATS[fmt]
    result = run_root(make_project(LOCKS / fmt / "vulnerable" / lock, tmp_path))
    assert result.status is Status.FAILED, result.summary
    for ident in ("PYSEC-2018-28", "PYSEC-2023-74"):
        finding = only(result, f"pip-audit/{ident}")
        assert (finding.file, finding.line) == (lock, REQUESTS_LINE[fmt])
        assert "requests==2.19.0 is affected by" in finding.message
    dependencies = result.details["dependencies"]
    assert (dependencies["lock_format"], dependencies["audited"]) == (lock, 3)
    assert list(dependencies["not_audited"]) == ["internal-lib"]
    git = only(result, "security/not-audited")
    assert (git.file, git.line) == (lock, GIT_LINE[fmt])
    assert "internal-lib" in result.reasons[0]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_git_entry_makes_the_gate_incomplete_naming_it(fmt: str, tmp_path: Path) -> None:
    lock = FORMATS[fmt]
    result = run_root(make_project(LOCKS / fmt / "git" / lock, tmp_path))
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.reasons == ["1 dependency could not be audited: internal-lib"]
    git = only(result, "security/not-audited")
    assert (git.file, git.line) == (lock, GIT_LINE[fmt])
    assert "not on the index" in git.message
    assert result.details["dependencies"]["audited"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_clean_lock_passes_and_the_project_is_left_out(fmt: str, tmp_path: Path) -> None:
    lock = FORMATS[fmt]
    result = run_root(make_project(LOCKS / fmt / "clean" / lock, tmp_path))
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    dependencies = result.details["dependencies"]
    assert (dependencies["audited"], dependencies["not_audited"]) == (3, {})
    assert result.details["advisory_database"]["queries"] >= 1
    if fmt == "poetry":  # poetry does not lock the project itself
        assert dependencies["project_not_audited"] == []
    else:
        assert dependencies["project_not_audited"] == ["myservice"]
        assert "myservice" in dependencies["project_note"]


@pytest.mark.slow
def test_unpinned_requirements_are_not_audited_with_their_lines(tmp_path: Path) -> None:
    lock = LOCKS / "requirements" / "unpinned" / "requirements.txt"
    result = run_root(make_project(lock, tmp_path, "requirements/prod.txt"))
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.reasons == ["2 dependencies could not be audited: certifi, urllib3"]
    skipped = sorted(
        (f.file, f.line, f.message) for f in result.findings if f.rule == "security/not-audited"
    )
    assert skipped == [
        (
            "requirements/prod.txt",
            4,
            "certifi could not be audited: not pinned to one version with == (>=2024.2.2)",
        ),
        (
            "requirements/prod.txt",
            5,
            "urllib3 could not be audited: not pinned to one version with == (no version)",
        ),
    ]
    assert result.details["dependencies"]["audited"] == 2


@pytest.mark.slow
def test_hashed_requirements_map_findings_to_the_requirement_line(tmp_path: Path) -> None:
    lock = LOCKS / "requirements" / "hashed" / "requirements.txt"
    result = run_root(make_project(lock, tmp_path))
    assert result.status is Status.FAILED, result.summary
    finding = only(result, "pip-audit/PYSEC-2018-28")
    assert (finding.file, finding.line) == ("requirements.txt", 13)
    dependencies = result.details["dependencies"]
    assert dependencies["audited"] == 4  # colorama too: its marker is false, it is still locked
    assert dependencies["audited_whatever_marker"] == {"colorama==0.4.6": 'sys_platform == "never"'}
    assert dependencies["transitive_not_pinned"] == []
    assert (only(result, "security/not-audited").line, list(dependencies["not_audited"])) == (
        15,
        ["private-lib"],
    )


@pytest.mark.slow
def test_every_version_of_a_forked_lock_is_audited(tmp_path: Path) -> None:
    result = run_root(make_project(LOCKS / "uv" / "forked" / "uv.lock", tmp_path))
    assert result.status is Status.FAILED, result.summary
    dependencies = result.details["dependencies"]
    assert (dependencies["audited"], dependencies["pip_audit_runs"]) == (4, 2)
    lines = {f.line for f in result.findings if f.rule.startswith("pip-audit/")}
    assert lines == {45}  # requests 2.19.0; 2.32.3 (line 57) is clean


@pytest.mark.slow
def test_a_lock_listing_only_the_project_audits_nothing_and_says_so(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        'version = 1\n\n[[package]]\nname = "me"\nversion = "1"\nsource = { virtual = "." }\n'
    )
    result = run_root(make_project(lock, tmp_path))
    assert result.status is Status.INCOMPLETE
    assert result.reasons == ["uv.lock lists no dependency: pip-audit audited nothing"]
    assert result.details["dependencies"]["pip_audit_runs"] == 0


@pytest.mark.slow
def test_a_malformed_lock_is_one_clear_reason_and_finding(tmp_path: Path) -> None:
    result = run_root(make_project(LOCKS / "malformed" / "uv" / "uv.lock", tmp_path))
    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "dependencies not audited: uv.lock:6: not valid TOML: Illegal character '\\n' (column 18)"
    ]
    unreadable = only(result, "security/unreadable-lock")
    assert (unreadable.file, unreadable.line) == ("uv.lock", 6)
    assert result.details["bandit"]["files_scanned"] == 2  # bandit still judged the code


@pytest.mark.slow
def test_the_cli_names_the_malformed_lock_without_a_traceback(tmp_path: Path) -> None:
    root = make_project(LOCKS / "malformed" / "poetry" / "poetry.lock", tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "opsctl", "verify", "security"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 3, output
    assert "poetry.lock:9: not valid TOML: Cannot declare ('package',) twice" in output
    assert "Traceback" not in output


def test_reconciliation_names_what_pip_audit_skipped_or_left_out() -> None:
    packages = [
        LockedPackage("Requests", "2.32.3", 3),
        LockedPackage("idna", "3.7", 7),
        LockedPackage("private", "1.0", 9),
        LockedPackage("certifi", "2024.08.30", 12),  # pip-audit reports the normalised version
    ]
    (expected,) = audit_rounds(packages)
    report = {
        "dependencies": [
            {"name": "requests", "version": "2.32.3", "vulns": []},
            {"name": "private", "skip_reason": "Dependency not found on PyPI"},
            {"name": "certifi", "version": "2024.8.30", "vulns": []},
        ]
    }
    audit = DependencyAudit()
    judge_report(report, "uv.lock", expected, [], dt.date(2025, 1, 1), audit)
    assert audit.audited == 2
    assert audit.skipped == {
        "private": "Dependency not found on PyPI",
        "idna": "pip-audit did not report on it",
    }
    assert sorted((f.line, f.message) for f in audit.findings) == [
        (7, "idna==3.7 could not be audited: pip-audit did not report on it"),
        (9, "private==1.0 could not be audited: Dependency not found on PyPI"),
    ]


def test_rounds_never_ask_for_one_name_twice() -> None:
    packages = [
        LockedPackage("a", "1", 1),
        LockedPackage("A", "2", 2),
        LockedPackage("b", "1", 3),
        LockedPackage("a", "1.0", 4),  # the same as the first: folded into it
        LockedPackage("a", "3", 5),
    ]
    rounds = audit_rounds(packages)
    assert [sorted(run) for run in rounds] == [
        [("a", "1"), ("b", "1")],
        [("a", "2")],
        [("a", "3")],
    ]
    assert rounds[0][("a", "1")].line == 1
