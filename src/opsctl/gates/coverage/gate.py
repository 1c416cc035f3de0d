"""The coverage gate: tests pass, and total, per-path and diff coverage meet their thresholds."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import coverage

from opsctl.gates.coverage import diff as git_diff
from opsctl.gates.coverage.artifacts import artifacts_folder, environment_secrets, publish
from opsctl.gates.coverage.junit_results import TestCounts
from opsctl.gates.coverage.measure import TestRun, run_tests
from opsctl.gates.coverage.run_judgement import (
    judge_ownership,
    judge_reconciliation,
    judge_tests,
)
from opsctl.gates.coverage.settings import CoverageSettings
from opsctl.gates.coverage.thresholds import (
    Ratio,
    diff_ratio,
    file_ratio,
    is_omitted,
    line_ranges,
    omit_from_report,
    path_ratio,
    total_ratio,
)
from opsctl.gates.coverage.wiring import DatabaseWiring, test_environment
from opsctl.gates.interface import (
    Finding,
    Gate,
    GateContext,
    GateError,
    GateResult,
    Measurement,
    Severity,
    Status,
)


class CoverageGate(Gate):
    name = "coverage"
    description = "The service's tests pass, and cover enough of its code (lines and branches)."

    def run(self, context: GateContext) -> GateResult:
        settings: CoverageSettings = context.definition_of_done.coverage
        project = context.project
        root = project.root
        sources = [project.resolve(source) for source in project.config.service.source]
        missing = [str(source) for source in sources if not source.exists()]
        if missing:
            raise GateError("service.source does not exist: " + ", ".join(missing))
        result = GateResult(gate=self.name, status=Status.PASSED, summary="")
        result.tools["coverage.py"] = coverage.__version__
        with (
            tempfile.TemporaryDirectory(prefix="opsctl-coverage-") as workdir,
            _database(context) as database_url,
        ):
            environ = test_environment(context, database_url)
            # before anything of the service runs, its env.py included: it must not be able
            # to reach a database of its own
            wiring = DatabaseWiring.check(context, environ, database_url, result)
            if database_url is not None and settings.migrate:
                _migrate(context, database_url)
                wiring = wiring.recounted()  # the migration's sessions are not the tests'
            context.progress("running the tests under coverage")
            tests = run_tests(
                test_command=project.config.service.tests,
                root=root,
                sources=sources,
                workdir=Path(workdir),
                environ=environ,
                declared_env=set(project.config.service.env),
                timeout_s=settings.timeout_s,
                cancelled=context.cancelled,
                artifacts=Path(workdir) / "artifacts",
                title=f"Coverage: {project.config.service.name}",
            )
            junit = tests.junit
            passed = junit is not None and junit.counts.passed > 0
            wiring.confirm(result, tests_passed=passed)
            _publish(context, tests, result)
        context.progress("judging the numbers")
        judge_tests(tests, result)
        judge_ownership(tests, root, result)
        judge_reconciliation(tests, result)
        if tests.report is None:
            result.reasons.extend(tests.problems)
        else:
            _judge_numbers(context, settings, tests.report, result)
        result.status = _verdict(result)
        result.summary = _summary(result)
        return result


def _publish(context: GateContext, tests: TestRun, result: GateResult) -> None:
    """Keep the coverage reports and the tests' JUnit file, where the details say."""
    folder = artifacts_folder(context)
    try:
        published = publish(
            tests.artifacts, tests.junit_file, folder, environment_secrets(context),
            context.project.root,
        )  # fmt: skip
    except OSError as error:  # the verdict does not depend on them: say so, and go on
        tests.artifact_problems.append(f"{folder}: {error.strerror or error}")
        published = {}
    result.details["artifacts"] = published
    if tests.artifact_problems:
        result.details["artifact_problems"] = tests.artifact_problems


@contextmanager
def _database(context: GateContext) -> Iterator[str | None]:
    """A throwaway database on the environment's server, or ``None`` if it has no database."""
    if context.environment.database_url is None:
        yield None
        return
    from opsctl.database.servers import server_admin_url
    from opsctl.database.throwaway import throwaway_database

    context.progress("creating a throwaway database")
    with throwaway_database(server_admin_url(context.project, context.environment)) as url:
        yield url


def _migrate(context: GateContext, database_url: str) -> None:
    from opsctl.database.migrations import alembic_ini, upgrade_to_head

    ini = alembic_ini(context.project)
    if ini is None:
        raise GateError("coverage.migrate is on, but service.migrations names no Alembic config")
    context.progress("migrating the throwaway database to head (coverage.migrate)")
    upgrade_to_head(context.project, ini, database_url)


def _judge_numbers(
    context: GateContext, settings: CoverageSettings, report: dict[str, Any], result: GateResult
) -> None:
    _omit(settings, report, result)
    files: dict[str, Any] = report["files"]
    result.details["files_measured"] = len(files)
    total = total_ratio(report)
    if settings.total is not None or total.total:
        result.measurements.append(_measure("total coverage", total, settings.total))
    if total.total == 0:
        result.reasons.append("coverage found no measurable code in service.source")
    for glob, threshold in settings.paths.items():
        ratio, matched = path_ratio(glob, report)
        if not matched:
            result.reasons.append(f"paths: '{glob}' matches no measured file (check the glob)")
        result.measurements.append(_measure(f"coverage of {glob}", ratio, threshold))
    if settings.diff is not None:
        _judge_diff(context, settings, report, result)
    _worst_files(settings, files, result)


def _omit(settings: CoverageSettings, report: dict[str, Any], result: GateResult) -> None:
    """Leave out what ``coverage.omit`` names, saying every time how much it left out."""
    if not settings.omit:
        return
    omitted = omit_from_report(report, settings.omit)
    result.details["omitted"] = omitted
    for glob, names in omitted.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        result.findings.append(
            Finding(
                rule="coverage/omitted",
                message=(
                    f"coverage.omit '{glob}': {len(names)} file(s) not judged ({shown})"
                    if names
                    else f"coverage.omit '{glob}' matches no file of service.source"
                ),
                severity=Severity.WARNING,
                help="omitted code is judged by no coverage threshold: keep the list short",
            )
        )


def _judge_diff(
    context: GateContext, settings: CoverageSettings, report: dict[str, Any], result: GateResult
) -> None:
    root = context.project.root
    assert settings.diff is not None
    try:
        ref, commit = git_diff.merge_base(root, context.base_ref or settings.base)
        changes = git_diff.changed_lines(root, commit, context.project.config.service.source)
    except GateError as error:
        result.reasons.append(f"diff coverage not measured: {error}")
        result.measurements.append(Measurement("diff coverage", None, settings.diff, "%"))
        return
    changes = {
        path: lines for path, lines in changes.items() if not is_omitted(path, settings.omit)
    }
    coverage_of_diff = diff_ratio(changes, report, root)
    result.details["diff"] = {
        "base": ref,
        "merge_base": commit,
        "changed_files": sorted(changes),
        "files_without_coverage_data": coverage_of_diff.without_data,
        "uncovered_lines": coverage_of_diff.uncovered,
    }
    if coverage_of_diff.ratio.total == 0:
        result.measurements.append(
            Measurement(f"diff coverage vs {ref}", None, settings.diff, "%", passed=True)
        )
        result.details["diff"]["note"] = "no changed code lines since the base"
        return
    measurement = _measure(f"diff coverage vs {ref}", coverage_of_diff.ratio, settings.diff)
    result.measurements.append(measurement)
    if measurement.passed:
        return
    for path, lines in coverage_of_diff.uncovered.items():
        no_data = (
            " (no coverage data: never imported?)" if path in coverage_of_diff.without_data else ""
        )
        result.findings.append(
            Finding(
                rule="coverage/diff-uncovered",
                message=f"changed lines not covered{no_data}: {line_ranges(lines)}",
                file=path,
                line=lines[0],
                help="add tests that run these changed lines",
            )
        )


def _measure(name: str, ratio: Ratio, threshold: float | None) -> Measurement:
    passed = None if threshold is None else ratio.meets(threshold)
    return Measurement(name, ratio.shown(), threshold, "%", ">=", passed)


def _worst_files(settings: CoverageSettings, files: dict[str, Any], result: GateResult) -> None:
    ranked = sorted(
        ((file_ratio(entry), name) for name, entry in files.items()),
        key=lambda item: (item[0].percent if item[0].percent is not None else 101, item[1]),
    )
    worst: list[dict[str, Any]] = []
    for ratio, name in ranked[: settings.worst_files]:
        if ratio.percent is None or ratio.covered == ratio.total:
            continue
        entry = files[name]
        missing_lines: list[int] = entry.get("missing_lines", [])
        missing_branches = [f"{a}->{b}" for a, b in entry.get("missing_branches", [])]
        worst.append(
            {
                "file": name,
                "percent": ratio.shown(),
                "missing_lines": line_ranges(missing_lines),
                "missing_branches": missing_branches,
            }
        )
        branches = (
            f"; branches not taken: {', '.join(missing_branches[:10])}" if missing_branches else ""
        )
        result.findings.append(
            Finding(
                rule="coverage/low-file",
                message=(
                    f"{ratio.shown():.2f}% covered; lines not run: "
                    f"{line_ranges(missing_lines) or 'none'}{branches}"
                ),
                severity=Severity.NOTE,
                file=name,
                line=missing_lines[0] if missing_lines else None,
            )
        )
    result.details["worst_files"] = worst


def _verdict(result: GateResult) -> Status:
    failed = any(m.passed is False for m in result.measurements) or any(
        f.severity is Severity.ERROR and not f.accepted for f in result.findings
    )
    if failed:
        return Status.FAILED
    if result.reasons or any(m.value is None and m.passed is None for m in result.measurements):
        return Status.INCOMPLETE
    return Status.PASSED


def _summary(result: GateResult) -> str:
    parts = []
    tests = result.details.get("tests")
    counts = TestCounts(**tests).summary() if tests is not None else None
    if counts is not None and not (result.reasons and result.reasons[0].startswith(counts)):
        parts.append(counts)  # (a first reason that starts with the counts says them already)
    for m in result.measurements:
        if m.threshold is None:
            parts.append(f"{m.name} {m.render_value()}")
        else:
            sign = "<" if m.passed is False else ">="
            parts.append(f"{m.name} {m.render_value()} {sign} {m.threshold:.2f}%")
    if result.reasons:
        parts.append(result.reasons[0])
    return "; ".join(parts) or "nothing measured"
