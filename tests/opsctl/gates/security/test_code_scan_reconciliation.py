"""bandit scans every ``.py`` under the source, and its own crashes make the gate incomplete."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.opsctl.gates.security.helpers import copy_fixture, run_gate, run_root

from opsctl.gates.interface import Severity, Status
from opsctl.gates.security.source_files import python_files

pytestmark = pytest.mark.slow


def test_bandit_default_exclude_words_no_longer_hide_code(tmp_path: Path) -> None:
    # CVSExport.py, CVS_sync/ and .tox_helpers/ all contain one of bandit's exclude words
    result = run_gate("bandit_excluded", tmp_path)
    assert result.status is Status.FAILED, result.summary
    failing = sorted(
        (f.file, f.line) for f in result.findings if f.rule == "bandit/B602" and not f.accepted
    )
    assert failing == [
        ("src/app/.tox_helpers/run.py", 5),
        ("src/app/CVSExport.py", 5),
        ("src/app/CVS_sync/shell.py", 5),
    ]
    bandit = result.details["bandit"]
    assert (bandit["files_scanned"], bandit["files_expected"], bandit["not_scanned"]) == (5, 5, [])


def test_a_file_bandit_does_not_reach_is_named_and_the_gate_incomplete(tmp_path: Path) -> None:
    root = copy_fixture("passing", tmp_path)
    (root / "vendored").mkdir()
    (root / "vendored" / "helpers.py").write_text("def helper() -> int:\n    return 1\n")
    (root / "src" / "app" / "helpers").symlink_to(root / "vendored")  # bandit does not follow it
    result = run_root(root)
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.details["bandit"]["not_scanned"] == ["src/app/helpers/helpers.py"]
    assert (
        "bandit did not scan 1 of the 3 .py file(s) under service.source: "
        "src/app/helpers/helpers.py"
    ) in result.reasons
    finding = next(f for f in result.findings if f.rule == "security/not-scanned")
    assert (finding.file, finding.severity) == ("src/app/helpers/helpers.py", Severity.WARNING)

    # naming the link's target as a source: bandit reads it there, and that is the same file
    config = root / "opsctl.yaml"
    config.write_text(config.read_text().replace("[src/app]", "[src/app, vendored]"))
    fixed = run_root(root)
    assert fixed.status is Status.PASSED, (fixed.summary, fixed.reasons)
    assert fixed.details["bandit"]["not_scanned"] == []


def test_virtual_environments_under_the_source_are_left_out_and_listed(tmp_path: Path) -> None:
    root = copy_fixture("passing", tmp_path)
    venv = root / "src" / "app" / ".venv"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "third_party.py").write_text(
        "import subprocess\nsubprocess.call('x', shell=True)\n"
    )
    result = run_root(root)
    assert result.status is Status.PASSED, (result.summary, result.reasons)
    assert result.details["bandit"]["virtualenvs_not_scanned"] == ["src/app/.venv"]
    assert not any(f.file == "src/app/.venv/lib/third_party.py" for f in result.findings)


def test_a_crashing_bandit_check_makes_the_gate_incomplete(tmp_path: Path) -> None:
    result = run_gate("bandit_crash", tmp_path)
    assert result.status is Status.INCOMPLETE, result.summary
    [crash] = [f for f in result.findings if f.rule == "security/bandit-internal-error"]
    assert (crash.file, crash.line) == ("src/app/reports.py", 8)
    assert "django_rawsql_used crashed here (KeyError: 'sql')" in crash.message
    [errors] = [r for r in result.reasons if r.startswith("bandit's checks crashed")]
    assert "src/app/reports.py:8: django_rawsql_used" in errors
    assert result.details["bandit"]["internal_errors"] == [
        "src/app/reports.py:8: django_rawsql_used: KeyError: 'sql'"
    ]


def test_the_walk_follows_links_once_and_names_files_as_bandit_does(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "a.py").write_text("")
    (tmp_path / "src" / "pkg" / "notes.txt").write_text("")
    (tmp_path / "src" / "pkg" / "loop").symlink_to(tmp_path / "src")  # a cycle: walked once
    (tmp_path / "single.py").write_text("")
    walk = python_files(tmp_path, ["src", "single.py", "missing"])
    assert sorted(walk.files.values()) == ["single.py", "src/pkg/a.py"]
