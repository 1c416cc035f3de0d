"""Judge the test run itself, before its numbers: the tests, and what the measurement covered.

- the tests, counted from pytest's JUnit report: a failing one fails the gate (named with its
  message and place), and a run in which **no test passed** is incomplete whatever the exit
  code (every test skipped, only collected, all deselected): its coverage is import-time only;
- what the gate overrode: the caller's coverage.py and pytest variables, the project's own
  coverage.py settings (reported; neither changes what is measured);
- reconciliation with opsctl's walk of the source: a file coverage.py did not list counts as
  0 % covered and is named; a file it cannot parse, or a data file it could not combine, makes
  the gate incomplete.
"""

from __future__ import annotations

from pathlib import Path

from opsctl.gates.coverage.isolation import project_coverage_settings
from opsctl.gates.coverage.measure import TestRun
from opsctl.gates.interface import Finding, GateResult, Severity

_PYTEST_HELP = (
    "pytest's options belong in the service's pytest configuration or in service.tests "
    "(or, to keep a variable, in service.env of opsctl.yaml)"
)


def judge_tests(tests: TestRun, result: GateResult) -> None:
    result.details["test_command_exit_code"] = tests.run.returncode
    result.details["concurrency"] = list(tests.concurrency)
    if tests.notes:
        result.details["notes"] = list(tests.notes)
    code = tests.run.returncode
    tail = "\n".join((tests.run.stdout + tests.run.stderr).strip().splitlines()[-5:])
    junit = tests.junit
    if junit is None:  # not pytest (or no readable report): only the exit code speaks
        result.details["tests_run"] = None
        result.details["failing_tests"] = []
        if code != 0:
            result.findings.append(_command_failed(code, tail))
        return
    counts = junit.counts
    result.details["tests"] = counts.as_dict()
    result.details["tests_run"] = counts.collected - counts.skipped
    result.details["failing_tests"] = [test.name for test in junit.failing]
    for test in junit.failing:
        result.findings.append(
            Finding(
                rule="coverage/failing-test",
                message=test.describe()[:2000],
                file=test.file,
                line=test.line,
                help="fix the test or the code; the coverage gate needs a green test run",
            )
        )
    if code == 5 and counts.collected == 0:  # pytest: no tests collected
        result.reasons.append(
            "the test command collected no tests (pytest exit 5): check service.tests and "
            "that pytest finds the test files (testpaths, test_*.py file and test_* names)"
        )
    elif counts.passed == 0:
        result.reasons.append(_none_passed(counts.summary(), counts.skip_reasons, code))
    if code not in (0, 5) and not junit.failing:
        result.findings.append(_command_failed(code, tail))


def _none_passed(summary: str, skip_reasons: list[str], code: int) -> str:
    if summary.startswith("0 of 0 "):
        return (
            f"{summary}: pytest ran no test (exit {code}): check service.tests (no "
            "--collect-only, no -k or -m that deselects everything)"
        )
    why = f" (skipped because: {'; '.join(skip_reasons)})" if skip_reasons else ""
    return (
        f"{summary}: the coverage measured comes from imports alone, not from tests; make "
        f"the tests run on this machine{why}"
    )


def _command_failed(code: int, tail: str) -> Finding:
    return Finding(
        rule="coverage/test-command-failed",
        message=f"the test command exited with {code}: {tail}"[:2000],
        help="run the service's test command (service.tests) locally and fix it",
    )


def judge_ownership(tests: TestRun, root: Path, result: GateResult) -> None:
    """Report what the gate overrode: the environment's variables, the project's settings."""
    overridden = tests.environment_overridden
    if overridden:
        result.details["environment_overridden"] = overridden
        coverage_names = [name for name in overridden if name.startswith("COVERAGE_")]
        pytest_names = [name for name in overridden if not name.startswith("COVERAGE_")]
        parts = []
        if coverage_names:
            parts.append(
                f"{', '.join(coverage_names)} (the gate writes, combines and reads its own "
                "coverage data, with its own settings)"
            )
        if pytest_names:
            parts.append(f"{', '.join(pytest_names)} ({_PYTEST_HELP})")
        result.findings.append(
            Finding(
                rule="coverage/environment-overridden",
                message="not passed to the tests: " + "; ".join(parts),
                severity=Severity.WARNING,
                help="unset them for opsctl verify; the tests run as service.tests says",
            )
        )
    ignored = project_coverage_settings(root)
    if ignored:
        result.details["coverage_settings_overridden"] = [entry.as_dict() for entry in ignored]
    for entry in ignored:
        omit = f"; its omit patterns ({', '.join(entry.omit)}) do not apply" if entry.omit else ""
        result.findings.append(
            Finding(
                rule="coverage/settings-overridden",
                message=(
                    f"coverage.py settings in this file are not used ({', '.join(entry.settings)})"
                    f": the gate measures every file of service.source with its own{omit}"
                ),
                severity=Severity.WARNING,
                file=entry.file,
                line=entry.line,
                help="thresholds go in checks/definition-of-done.yaml (coverage); code that "
                "should not count belongs outside service.source",
            )
        )


def judge_reconciliation(tests: TestRun, result: GateResult) -> None:
    """Files coverage.py did not list or parse, and data files it did not combine."""
    if tests.report is None:
        return
    result.details["coverage_data_files"] = tests.data_files
    result.details["files_not_in_coverage_report"] = tests.unreported
    for name in tests.unreported:
        result.findings.append(
            Finding(
                rule="coverage/file-not-listed",
                message=(
                    "coverage.py does not list this file (a file name or folder it takes for "
                    "not importable) and no test ran it: counted as 0 % covered"
                ),
                severity=Severity.WARNING,
                file=name,
                help="test it, or move it out of service.source",
            )
        )
    for name, reason in tests.unparsable.items():
        result.reasons.append(
            f"{name}: coverage.py cannot parse it ({reason}): fix the file, or move it out of "
            "service.source"
        )
        result.findings.append(
            Finding(
                rule="coverage/unparsable",
                message=f"coverage.py cannot parse this file, so it is not measured: {reason}",
                severity=Severity.WARNING,
                file=name,
            )
        )
    if tests.not_combined:
        result.reasons.append(
            f"coverage.py could not read {len(tests.not_combined)} of the test run's data "
            f"files ({', '.join(tests.not_combined)}): a test process was killed while writing? "
            "Run the gate again"
        )
