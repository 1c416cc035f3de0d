"""The coverage gate reconciles what coverage.py and pytest judged with what they should have.

Real pytest and coverage.py on fixture services; each test is a way the gate once passed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.coverage.gate import CoverageGate
from opsctl.gates.coverage.isolation import owned_environment
from opsctl.gates.interface import GateContext, GateResult, Status

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "coverage"
pytestmark = pytest.mark.slow


def copy_fixture(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target, ignore=shutil.ignore_patterns("changes"))
    return target


def run_gate(project_dir: Path, options: dict[str, Any] | None = None) -> GateResult:
    project = load_project(project_dir / "opsctl.yaml")
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="local",
        environment=get_environment(project, "local"),
        options=options or {},
    )
    return CoverageGate().run(context)


def measurement(result: GateResult, name: str) -> tuple[float | None, bool | None]:
    found = next(m for m in result.measurements if m.name.startswith(name))
    return found.value, found.passed


def messages(result: GateResult, rule: str) -> list[str]:
    return [f.message for f in result.findings if f.rule == rule]


# F1: the gate owns its data file and its configuration


@pytest.mark.parametrize(
    "command",
    [
        "[python, -m, pytest]",  # run under `coverage run`
        '[python, -c, "import sys, pytest; sys.exit(pytest.main())"]',  # coverage's start-up hook
    ],
)
def test_a_stale_coverage_file_named_by_the_environment_is_neither_read_nor_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # Before, the tests wrote their data next to $COVERAGE_FILE (into CI's folder, where a later
    # `coverage combine` would take it), the export erased the file there, and the gate was
    # incomplete ("No data to report") on a run that had measured everything it needed.
    project = copy_fixture("below_total", tmp_path)  # about 55 % against 80
    config = project / "opsctl.yaml"
    config.write_text(config.read_text().replace("[python, -m, pytest]", command))
    # an earlier build, whose tests covered everything, left its data where COVERAGE_FILE says
    stale = project / "ci-cache" / "coverage.db"
    stale.parent.mkdir()
    extra = project / "tests" / "test_everything.py"
    extra.write_text(
        "import pytest\nfrom calc.ops import divide, power\nfrom calc.unused import forgotten\n"
        "def test_all():\n    assert divide(4, 2) == 2 and power(2, 3) == 8\n"
        "    assert forgotten(1) == 2\n    with pytest.raises(ZeroDivisionError):\n"
        "        divide(1, 0)\n    assert power(2, 0) == 1\n"
    )
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--branch", "--source=src/calc", "-m", "pytest"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "COVERAGE_FILE": str(stale)},
        check=True,
        capture_output=True,
    )
    extra.unlink()
    before = stale.read_bytes()
    monkeypatch.setenv("COVERAGE_FILE", str(stale))
    # debug output would go to this file, if coverage.py in the tests saw the variables
    monkeypatch.setenv("COVERAGE_DEBUG", "dataio")
    monkeypatch.setenv("COVERAGE_DEBUG_FILE", str(project / "coverage-debug.txt"))

    result = run_gate(project)

    assert result.status is Status.FAILED, result.summary
    value, passed = measurement(result, "total coverage")
    assert passed is False and value is not None and value < 80
    overridden = ["COVERAGE_DEBUG", "COVERAGE_DEBUG_FILE", "COVERAGE_FILE"]
    assert result.details["environment_overridden"] == overridden
    assert result.details["coverage_data_files"] == 1  # the one test process, in its folder
    (warning,) = messages(result, "coverage/environment-overridden")
    assert "COVERAGE_DEBUG, COVERAGE_DEBUG_FILE, COVERAGE_FILE" in warning
    assert str(stale) not in str(result.details)  # names, never values
    assert stale.read_bytes() == before
    assert not (project / "coverage-debug.txt").exists()
    assert not list(stale.parent.glob("coverage.db.*"))  # the tests wrote nothing there


def test_pytest_variables_of_the_caller_do_not_change_which_tests_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both failing tests deselected by the caller's PYTEST_ADDOPTS: the gate once passed
    monkeypatch.setenv(
        "PYTEST_ADDOPTS",
        "--deselect tests/test_ops.py::test_add_adds "
        "--deselect tests/test_ops.py::test_add_is_commutative",
    )
    monkeypatch.setenv("PYTEST_PLUGINS", "no_such_plugin_module")  # would crash pytest
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = run_gate(copy_fixture("failing_test", tmp_path))
    assert result.status is Status.FAILED, result.summary
    assert sorted(result.details["failing_tests"]) == [
        "tests.test_ops::test_add_adds",
        "tests.test_ops::test_add_is_commutative",
    ]
    assert result.details["environment_overridden"] == [
        "PYTEST_ADDOPTS",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "PYTEST_PLUGINS",
    ]
    (warning,) = messages(result, "coverage/environment-overridden")
    assert "pytest's options belong in the service's pytest configuration" in warning


def test_only_the_services_own_pytest_variables_reach_the_tests() -> None:
    environ = {
        "HOME": "/home/dev",
        "PYTEST_ADDOPTS": "-x",  # the service's, from service.env
        "PYTEST_PLUGINS": "theirs",
        "PYTEST_CURRENT_TEST": "tests/test_x.py::test_y (call)",  # pytest's own bookkeeping
        "COVERAGE_FILE": "/ci/.coverage",
        "COVERAGE_PROCESS_START": "/ci/.coveragerc",
    }
    kept, removed = owned_environment(environ, declared={"PYTEST_ADDOPTS", "COVERAGE_FILE"})
    assert kept == {"HOME": "/home/dev", "PYTEST_ADDOPTS": "-x"}
    # COVERAGE_* never stay, even when service.env sets them: the data file is the gate's
    assert removed == ["COVERAGE_FILE", "COVERAGE_PROCESS_START", "PYTEST_PLUGINS"]


def test_the_projects_own_coverage_settings_change_nothing_and_are_reported(
    tmp_path: Path,
) -> None:
    # pyproject.toml omits unused.py and ops.py and lowers fail_under; .coveragerc omits all
    result = run_gate(copy_fixture("project_settings", tmp_path))
    assert result.status is Status.FAILED, result.summary
    value, passed = measurement(result, "total coverage")
    assert passed is False and value is not None and value < 80
    files = {entry["file"] for entry in result.details["worst_files"]}
    assert {"src/calc/unused.py", "src/calc/ops.py"} <= files
    assert result.details["coverage_settings_overridden"] == [
        {
            "file": ".coveragerc",
            "line": 1,
            "settings": ["report.exclude_also", "run.omit"],
            "omit": ["src/calc/*"],
        },
        {
            "file": "pyproject.toml",
            "line": 6,
            "settings": ["report.fail_under", "run.data_file", "run.omit", "run.source"],
            "omit": ["src/calc/unused.py", "src/calc/ops.py"],
        },
    ]
    warnings = [f for f in result.findings if f.rule == "coverage/settings-overridden"]
    assert [(f.file, f.line) for f in warnings] == [(".coveragerc", 1), ("pyproject.toml", 6)]
    assert "its omit patterns (src/calc/unused.py, src/calc/ops.py) do not apply" in (
        warnings[1].message
    )
    assert not (tmp_path / "project_settings" / ".coverage-project").exists()


def test_test_data_written_outside_the_gates_folder_is_an_error_not_a_pass(
    tmp_path: Path,
) -> None:
    # the test command itself sends coverage's data elsewhere: strict combine finds none
    project = copy_fixture("passing", tmp_path)
    config = project / "opsctl.yaml"
    elsewhere = tmp_path / "elsewhere" / "data"
    command = f"tests: [env, 'COVERAGE_FILE={elsewhere}', '{sys.executable}', -m, pytest]"
    config.write_text(
        config.read_text()
        .replace("tests: [python, -m, pytest]", command)
        .replace("    database_url: ${FIXTURE_DATABASE_URL}\n", "")
    )
    (project / "tests" / "test_ops.py").write_text(
        "from calc.core.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    result = run_gate(project)
    assert result.status is Status.INCOMPLETE, result.summary
    (reason,) = result.reasons
    assert "left no coverage data file in the gate's work folder" in reason
    assert list(elsewhere.parent.glob("data.*"))  # the data went there indeed


# F2: every .py file under service.source counts


def test_every_file_of_the_source_counts_with_or_without_init_and_whatever_its_name(
    tmp_path: Path,
) -> None:
    result = run_gate(copy_fixture("namespace_package", tmp_path))
    assert result.status is Status.FAILED, result.summary
    # covered: ops.py (2 statements); never run: plugins/rates.py, in a folder without
    # __init__.py (6 statements, 2 branches), and the revision coverage.py does not list for the
    # dots in its name (6 statements): 2 of 16
    assert measurement(result, "total coverage") == (12.5, False)
    assert measurement(result, "coverage of src/calc/plugins/**") == (0.0, False)
    revision = "src/calc/migrations/versions/2024.05.01_add_index.py"
    assert result.details["files_not_in_coverage_report"] == [revision]
    (listed,) = [f for f in result.findings if f.rule == "coverage/file-not-listed"]
    assert listed.file == revision and "counted as 0 % covered" in listed.message
    worst = {entry["file"]: entry["percent"] for entry in result.details["worst_files"]}
    assert worst == {"src/calc/plugins/rates.py": 0.0, revision: 0.0}
    # the empty file counts as a file with nothing to cover; the hidden folder is not source
    assert result.details["files_measured"] == 6
    assert "cache.py" not in str(result.details)


def test_a_file_coverage_cannot_parse_makes_the_gate_incomplete_and_is_named(
    tmp_path: Path,
) -> None:
    project = copy_fixture("namespace_package", tmp_path)
    (project / "src" / "calc" / "plugins" / "broken.py").write_text("def broken(:\n    pass\n")
    result = run_gate(project)
    assert result.status is Status.FAILED  # the total is still judged (and still too low)
    reason = next(r for r in result.reasons if "broken.py" in r)
    assert reason.startswith("src/calc/plugins/broken.py: coverage.py cannot parse it")
    assert "move it out of service.source" in reason
    (project / "checks" / "definition-of-done.yaml").write_text("coverage: {}\n")
    assert run_gate(project).status is Status.INCOMPLETE


# F7: the tests themselves are counted


def test_a_run_in_which_every_test_was_skipped_is_incomplete_whatever_its_coverage(
    tmp_path: Path,
) -> None:
    result = run_gate(copy_fixture("all_tests_skipped", tmp_path))
    assert result.details["test_command_exit_code"] == 0
    assert measurement(result, "total coverage")[1] is True  # import-time coverage meets 60
    assert result.status is Status.INCOMPLETE, result.summary
    assert result.details["tests"] == {
        "collected": 3,
        "passed": 0,
        "failed": 0,
        "errors": 0,
        "skipped": 3,
        "xfailed": 0,
    }
    assert result.details["tests_run"] == 0
    (reason,) = result.reasons
    assert reason.startswith("0 of 3 tests passed (3 skipped): the coverage measured comes")
    assert reason.endswith("(skipped because: needs the pricing service)")
    assert result.summary == f"total coverage 66.66% >= 60.00%; {reason}"


def test_a_collect_only_run_is_incomplete(tmp_path: Path) -> None:
    project = copy_fixture("all_tests_skipped", tmp_path)
    config = project / "opsctl.yaml"
    config.write_text(config.read_text().replace("pytest]", "pytest, --collect-only]"))
    (project / "tests" / "test_prices.py").write_text(
        "from calc.prices import with_vat\n\n\ndef test_with_vat():\n"
        "    assert with_vat(10) == 12\n"
    )
    result = run_gate(project)
    assert result.status is Status.INCOMPLETE, result.summary
    (reason,) = result.reasons
    assert reason.startswith("0 of 0 tests passed: pytest ran no test (exit 0)")


def test_every_outcome_is_counted_and_failures_carry_their_message_and_place(
    tmp_path: Path,
) -> None:
    result = run_gate(copy_fixture("test_outcomes", tmp_path))
    assert result.status is Status.FAILED
    assert result.details["tests"] == {
        "collected": 6,
        "passed": 1,
        "failed": 2,
        "errors": 1,
        "skipped": 1,
        "xfailed": 1,
    }
    assert result.summary.startswith(
        "1 of 6 tests passed (2 failed, 1 errors, 1 skipped, 1 xfailed)"
    )
    failing = {f.message: (f.file, f.line) for f in result.findings if f.rule.endswith("-test")}
    assert failing.pop(
        "test failed: tests.test_ops::test_fails_with_its_assertion: "
        "assert 4 == 5 /  +  where 4 = add(2, 2)"
    ) == ("tests/test_ops.py", 18)
    assert failing.pop(
        "test failed: tests.test_ops::test_errors_in_its_fixture: "
        'failed on setup with "RuntimeError: the fixture cannot start"'
    ) == ("tests/test_ops.py", 10)  # the fixture's line
    # the result holds pytest's text as it is: the runner masks the reports (docs/verify.md)
    ((secret, place),) = failing.items()
    assert secret.startswith("test failed: tests.test_ops::test_quotes_a_secret: AssertionError")
    assert place == ("tests/test_ops.py", 22)


# Artifacts users upload elsewhere


def test_cobertura_lcov_html_and_junit_are_kept_in_one_folder_named_in_the_details(
    tmp_path: Path,
) -> None:
    project = copy_fixture("namespace_package", tmp_path)
    folder = tmp_path / "reports" / "coverage"
    (folder / "html").mkdir(parents=True)
    (folder / "html" / "stale.html").write_text("an earlier run's page")
    result = run_gate(project, options={"reports_dir": str(tmp_path / "reports")})
    artifacts = result.details["artifacts"]
    assert artifacts == {
        "coverage_xml": str(folder / "coverage.xml"),
        "lcov": str(folder / "coverage.lcov"),
        "html": str(folder / "html" / "index.html"),
        "junit": str(folder / "junit.xml"),
        "folder": str(folder),
    }
    # the same files the gate judged, the one coverage.py does not list included
    cobertura = (folder / "coverage.xml").read_text()
    assert 'filename="src/calc/plugins/rates.py"' in cobertura
    assert 'filename="src/calc/migrations/versions/2024.05.01_add_index.py"' in cobertura
    assert 'lines-valid="14" lines-covered="2"' in cobertura  # the statements the gate counts
    lcov = (folder / "coverage.lcov").read_text()
    assert "SF:src/calc/migrations/versions/2024.05.01_add_index.py" in lcov
    assert (folder / "html" / "index.html").is_file()
    assert not (folder / "html" / "stale.html").exists()
    assert '<testcase classname="tests.test_ops" name="test_add"' in (
        (folder / "junit.xml").read_text()
    )


def test_artifacts_default_to_the_projects_reports_folder_and_mask_secrets(
    tmp_path: Path,
) -> None:
    project = copy_fixture("test_outcomes", tmp_path)
    result = run_gate(project)
    assert result.details["artifacts"]["junit"] == ".opsctl/reports/coverage/junit.xml"
    junit = (project / ".opsctl" / "reports" / "coverage" / "junit.xml").read_text()
    assert "test_quotes_a_secret" in junit
    assert "s3cret-redis-password" not in junit
