"""The coverage gate on tiny fixture projects: real pytest, real coverage.py, real git."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.coverage.gate import CoverageGate
from opsctl.gates.interface import GateContext, GateResult, Status

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "coverage"
pytestmark = pytest.mark.slow


def copy_fixture(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target, ignore=shutil.ignore_patterns("changes"))
    return target


def run_gate(project_dir: Path, base: str | None = None) -> GateResult:
    project = load_project(project_dir / "opsctl.yaml")
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="local",
        environment=get_environment(project, "local"),
        base_ref=base,
    )
    return CoverageGate().run(context)


def measurement(result: GateResult, name: str) -> tuple[float | None, bool | None]:
    found = next(m for m in result.measurements if m.name.startswith(name))
    return found.value, found.passed


def test_passing_project_counts_subprocesses_and_runs_on_a_throwaway_database(
    tmp_path: Path, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_DATABASE_URL", postgres_server_url)
    result = run_gate(copy_fixture("passing", tmp_path))
    assert result.status is Status.PASSED, (result.summary, result.findings)
    # calc/cli.py is only ever run by a subprocess of a test: 100 % means it was measured
    assert measurement(result, "total coverage") == (100.0, True)
    assert result.details["failing_tests"] == []
    assert result.details["tests_run"] == 4
    assert result.tools["coverage.py"]


def test_below_total_fails_and_names_the_missing_lines_and_branches(tmp_path: Path) -> None:
    result = run_gate(copy_fixture("below_total", tmp_path))
    assert result.status is Status.FAILED
    value, passed = measurement(result, "total coverage")
    assert passed is False and value is not None and value < 80
    never_imported, ops = result.details["worst_files"][:2]
    # never imported by any test, still measured because source = service.source
    assert (never_imported["file"], never_imported["percent"]) == ("src/calc/unused.py", 0.0)
    assert ops["file"] == "src/calc/ops.py"
    assert ops["missing_lines"] == "6-8, 12-15"
    assert "6->7" in ops["missing_branches"]
    assert f"total coverage {value:.2f}% < 80.00%" in result.summary


def test_omitted_files_leave_the_numbers_and_are_named_every_run(tmp_path: Path) -> None:
    root = copy_fixture("below_total", tmp_path)
    (root / "checks" / "definition-of-done.yaml").write_text(
        "coverage:\n  total: 1\n  omit: ['src/calc/unused.py', 'src/legacy/**']\n"
    )
    before = measurement(run_gate(copy_fixture("below_total", tmp_path / "all")), "total coverage")
    result = run_gate(root)
    value, passed = measurement(result, "total coverage")
    assert passed is True and value is not None and before[0] is not None and value > before[0]
    assert result.details["omitted"] == {
        "src/calc/unused.py": ["src/calc/unused.py"],
        "src/legacy/**": [],
    }
    assert "src/calc/unused.py" not in [w["file"] for w in result.details["worst_files"]]
    warnings = sorted(f.message for f in result.findings if f.rule == "coverage/omitted")
    assert warnings == [
        "coverage.omit 'src/calc/unused.py': 1 file(s) not judged (src/calc/unused.py)",
        "coverage.omit 'src/legacy/**' matches no file of service.source",
    ]


def test_one_path_below_its_threshold_fails_although_the_total_passes(tmp_path: Path) -> None:
    result = run_gate(copy_fixture("below_path", tmp_path))
    assert result.status is Status.FAILED
    assert measurement(result, "total coverage")[1] is True
    assert measurement(result, "coverage of src/calc/core/**") == (60.0, False)
    assert measurement(result, "coverage of src/calc/*.py") == (100.0, True)


def test_failing_tests_fail_the_gate_and_are_named(tmp_path: Path) -> None:
    result = run_gate(copy_fixture("failing_test", tmp_path))
    assert result.status is Status.FAILED
    named = {f.message for f in result.findings if f.rule == "coverage/failing-test"}
    assert named == {  # with pytest's assertion message
        "test failed: tests.test_ops::test_add_is_commutative: assert -1 == 1 /  +  where -1 = "
        "add(1, 2) /  +  and   1 = add(2, 1)",
        "test failed: tests.test_ops::test_add_adds: assert -1 == 3 /  +  where -1 = add(1, 2)",
    }
    places = {(f.file, f.line) for f in result.findings if f.rule == "coverage/failing-test"}
    assert places == {("tests/test_ops.py", 5), ("tests/test_ops.py", 9)}
    assert measurement(result, "total coverage")[1] is True  # failed despite the coverage


def test_79_5_percent_fails_80(tmp_path: Path) -> None:
    project = copy_fixture("rounding", tmp_path)
    result = run_gate(project)
    assert result.status is Status.FAILED
    assert measurement(result, "total coverage") == (79.5, False)
    assert "79.50% < 80.00%" in result.summary


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _repo_with_change(tmp_path: Path, change: str, *, commit: bool) -> Path:
    project = copy_fixture("diff", tmp_path)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@example.test", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-qm", "base")
    _git(project, "checkout", "-q", "-b", "feature")
    shutil.copytree(FIXTURES / "diff" / "changes" / change, project, dirs_exist_ok=True)
    if commit:
        _git(project, "-c", "user.email=t@example.test", "-c", "user.name=t", "add", ".")
        _git(project, "-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-qm", "x")
    return project


def test_diff_coverage_passes_when_the_changed_lines_are_tested(tmp_path: Path) -> None:
    result = run_gate(_repo_with_change(tmp_path, "covered", commit=True))
    assert result.status is Status.PASSED, result.summary
    assert measurement(result, "diff coverage vs main") == (100.0, True)


def test_changed_lines_without_tests_fail_the_diff_threshold(tmp_path: Path) -> None:
    result = run_gate(_repo_with_change(tmp_path, "uncovered", commit=True), base="main")
    assert result.status is Status.FAILED
    # the new "def" line runs at import; its body (2 lines) never runs: 1 of 3
    assert measurement(result, "diff coverage vs main") == (33.33, False)
    assert result.details["diff"]["uncovered_lines"] == {"src/calc/ops.py": [6, 7]}
    finding = next(f for f in result.findings if f.rule == "coverage/diff-uncovered")
    assert (finding.file, finding.line) == ("src/calc/ops.py", 6)


def test_a_new_file_coverage_never_saw_counts_as_uncovered(tmp_path: Path) -> None:
    # uncommitted and untracked: diff-cover would not see it at all
    result = run_gate(_repo_with_change(tmp_path, "never_imported", commit=False))
    assert result.status is Status.FAILED
    diff = result.details["diff"]
    assert diff["files_without_coverage_data"] == ["src/calc/plugins/extra.py"]
    # its statements, as coverage.py counts them (a docstring is none)
    assert diff["uncovered_lines"] == {"src/calc/plugins/extra.py": [4, 5, 6]}
    assert "never imported" in next(
        f.message for f in result.findings if f.rule == "coverage/diff-uncovered"
    )


def test_diff_without_a_base_is_incomplete_not_passed(tmp_path: Path) -> None:
    project = copy_fixture("diff", tmp_path)  # not a git repository
    result = run_gate(project)
    assert result.status is Status.INCOMPLETE
    assert any("diff coverage not measured" in reason for reason in result.reasons)


def test_lines_after_awaits_on_sqlalchemys_greenlet_bridge_are_measured(tmp_path: Path) -> None:
    result = run_gate(copy_fixture("greenlet", tmp_path))
    assert result.details["concurrency"] == ["greenlet", "thread"]
    assert measurement(result, "total coverage") == (100.0, True)
    assert result.status is Status.PASSED, (result.summary, result.findings)
    assert "notes" not in result.details


def test_without_greenlet_tracing_the_gate_says_so_and_does_not_pass(tmp_path: Path) -> None:
    # A test command opsctl does not wrap in `coverage run` runs a Python opsctl cannot
    # inspect, so coverage stays on threads: the fixture's greenlet lines are then missed.
    project = copy_fixture("greenlet", tmp_path)
    config = project / "opsctl.yaml"
    command = f"tests: [env, {json.dumps(sys.executable)}, -m, pytest]"
    config.write_text(config.read_text().replace("tests: [python, -m, pytest]", command))
    result = run_gate(project)
    assert result.details["concurrency"] == ["thread"]
    assert "greenlet" in result.details["notes"][0]
    value, passed = measurement(result, "total coverage")
    assert passed is False and value is not None and value < 80
    assert result.status is Status.FAILED
