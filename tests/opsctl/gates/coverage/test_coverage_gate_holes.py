"""The coverage gate never passes a run it could not judge: no tests, no data, no source."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ExitCode
from opsctl.gates.coverage.gate import CoverageGate
from opsctl.gates.coverage.measure import build_command
from opsctl.gates.interface import GateContext, GateError, GateResult, Status
from opsctl.gates.runner import run_gates

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "coverage"
pytestmark = pytest.mark.slow


def copy_fixture(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target)
    return target


def run_gate(project_dir: Path) -> GateResult:
    context = _context_factory(project_dir)(lambda _message: None, threading.Event())
    return CoverageGate().run(context)


def test_a_test_command_that_collects_no_test_is_incomplete_and_says_what_to_fix(
    tmp_path: Path,
) -> None:
    # the checks sit in tests/checks_ops.py, a name pytest does not collect: pytest exits 5
    result = run_gate(copy_fixture("no_tests_collected", tmp_path))
    assert result.status is Status.INCOMPLETE, (result.summary, result.findings)
    assert result.details["test_command_exit_code"] == 5
    reason = next(r for r in result.reasons if "collected no tests" in r)
    assert "service.tests" in reason and "test_*.py" in reason
    assert reason in result.summary


def test_a_test_command_that_records_no_coverage_data_is_incomplete_and_says_what_to_fix(
    tmp_path: Path,
) -> None:
    # tests: [python, -c, "print('hello')"]: runs, exits 0, runs none of the service's code
    result = run_gate(copy_fixture("no_coverage_data", tmp_path))
    assert result.status is Status.INCOMPLETE, (result.summary, result.findings)
    assert result.details["test_command_exit_code"] == 0
    assert result.measurements == []  # no 0 % judged against the threshold: nothing measured
    assert result.findings == []  # the command itself is fine (`coverage run` has no -c)
    (reason,) = result.reasons
    assert reason.startswith("coverage recorded no data of service.source")
    assert "make service.tests run the service's tests" in reason


def test_a_command_that_starts_no_python_at_all_is_incomplete_and_says_what_to_fix(
    tmp_path: Path,
) -> None:
    # no coverage data file is written at all (coverage's combine finds nothing)
    project = copy_fixture("no_coverage_data", tmp_path)
    config = project / "opsctl.yaml"
    config.write_text(
        config.read_text().replace("""[python, -c, "print('hello')"]""", "[sh, -c, 'echo hello']")
    )
    result = run_gate(project)
    assert result.status is Status.INCOMPLETE, (result.summary, result.findings)
    assert result.details["test_command_exit_code"] == 0
    (reason,) = result.reasons
    assert reason.startswith("coverage recorded no usable data")
    assert "make service.tests run the service's tests" in reason


def test_python_dash_c_runs_as_given_in_opsctls_python() -> None:
    command, wrapped = build_command(
        ["python", "-c", "print('hello')"], Path("rc"), Path("junit.xml")
    )
    assert wrapped is False
    assert command == [sys.executable, "-c", "print('hello')"]


def _context_factory(
    project_dir: Path,
) -> Callable[[Callable[[str], None], threading.Event], GateContext]:
    project = load_project(project_dir / "opsctl.yaml")

    def make_context(progress: Callable[[str], None], cancelled: threading.Event) -> GateContext:
        return GateContext(
            project=project,
            definition_of_done=load_definition_of_done(project),
            environment_name="local",
            environment=get_environment(project, "local"),
            progress=progress,
            cancelled=cancelled,
        )

    return make_context


def test_a_service_source_that_does_not_exist_is_incomplete_naming_the_path(
    tmp_path: Path,
) -> None:
    # opsctl.yaml says source: [src/calcs]; the code is in src/calc
    project_dir = copy_fixture("missing_source", tmp_path)
    missing = str(project_dir / "src" / "calcs")
    context = _context_factory(project_dir)(lambda _message: None, threading.Event())
    with pytest.raises(GateError, match=r"service\.source does not exist") as raised:
        CoverageGate().run(context)
    assert missing in str(raised.value)

    # through the runner, as `opsctl verify` runs it: incomplete (exit 3), never passed
    verify = run_gates(
        [CoverageGate()],
        _context_factory(project_dir),
        project="calc",
        environment="local",
        console=Console(file=StringIO(), width=200),
    )
    (result,) = verify.results
    assert result.status is Status.INCOMPLETE
    assert any(missing in reason for reason in result.reasons), result.reasons
    assert verify.exit_code is ExitCode.INCOMPLETE
