"""The gate runner: verdicts, exit codes, crashes, --fail-fast and Ctrl-C never lose a result."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Callable, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from rich.console import Console

from opsctl.config.models import EnvironmentConfig, LoadedProject, ProjectConfig, ServiceConfig
from opsctl.errors import ConfigError, ExitCode, InterruptedByUser, RefusedError
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
from opsctl.gates.runner import RunAbortedError, run_gates
from opsctl.reports.console import RunSummary
from opsctl.reports.interface import VerifyRun, environment_masker
from opsctl.reports.json_report import JsonReport
from opsctl.reports.junit import JunitReport
from opsctl.reports.markdown import MarkdownReport
from opsctl.reports.sarif import SarifReport

PROJECT = LoadedProject(
    config=ProjectConfig(service=ServiceConfig(name="svc")), path=Path("/nowhere/opsctl.yaml")
)


class ScriptedGate(Gate):
    """A gate whose behaviour the test chooses (the runner treats it like any other)."""

    description = "scripted"

    def __init__(self, name: str, behaviour: Callable[[GateContext], GateResult]) -> None:
        self.name = name  # type: ignore[misc]
        self.behaviour = behaviour

    def skip_reason(self, context: GateContext) -> str | None:
        return "not applicable here" if self.name.startswith("skip") else None

    def run(self, context: GateContext) -> GateResult:
        return self.behaviour(context)


def verdict(status: Status, delay: float = 0.0) -> Callable[[GateContext], GateResult]:
    def behaviour(context: GateContext) -> GateResult:
        context.progress("working")
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if context.cancelled.wait(0.01):
                raise GateError("stopped by the runner")
        return GateResult(gate="ignored", status=status, summary=status.value)

    return behaviour


def run(gates: Sequence[Gate], **options: Any) -> tuple[VerifyRun, str]:
    out = StringIO()

    def make_context(progress: Callable[[str], None], cancelled: threading.Event) -> GateContext:
        return GateContext(
            project=PROJECT,
            definition_of_done=None,
            environment_name="local",
            environment=EnvironmentConfig(url="http://127.0.0.1:1"),
            progress=progress,
            cancelled=cancelled,
        )

    result = run_gates(
        gates,
        make_context,
        project="svc",
        environment="local",
        console=Console(file=out, width=120),
        **options,
    )
    return result, out.getvalue()


def test_exit_code_is_1_if_any_failed_else_3_if_any_incomplete_else_0() -> None:
    passed = ScriptedGate("a", verdict(Status.PASSED))
    incomplete = ScriptedGate("b", verdict(Status.INCOMPLETE))
    failed = ScriptedGate("c", verdict(Status.FAILED))
    skipped = ScriptedGate("skip-me", verdict(Status.PASSED))
    assert run([passed, skipped])[0].exit_code is ExitCode.OK
    assert run([passed, incomplete])[0].exit_code is ExitCode.INCOMPLETE
    assert run([incomplete, failed])[0].exit_code is ExitCode.CHECK_FAILED


def test_skipped_gates_carry_their_reason_and_results_keep_the_order() -> None:
    verify, _ = run(
        [ScriptedGate("skip-x", verdict(Status.PASSED)), ScriptedGate("a", verdict(Status.PASSED))]
    )
    results = verify.results
    assert [(r.gate, r.status) for r in results] == [
        ("skip-x", Status.SKIPPED),
        ("a", Status.PASSED),
    ]
    assert results[0].reasons == ["not applicable here"]


def test_a_crashing_gate_is_incomplete_and_the_others_still_report() -> None:
    def crash(_context: GateContext) -> GateResult:
        raise ZeroDivisionError("bug in a gate")

    verify, _ = run([ScriptedGate("boom", crash), ScriptedGate("ok", verdict(Status.PASSED))])
    boom, ok = verify.results
    assert boom.status is Status.INCOMPLETE
    assert boom.reasons == ["gate crashed: ZeroDivisionError: bug in a gate"]
    assert "ZeroDivisionError" in boom.details["traceback"]
    assert ok.status is Status.PASSED
    assert verify.exit_code is ExitCode.INCOMPLETE


def test_gates_run_concurrently_with_two_jobs() -> None:
    # what each gate recorded of its own run: overlapping intervals prove concurrency without
    # a wall-clock bound (the machine is shared: its load must not decide the test)
    spans: dict[str, tuple[float, float]] = {}

    def timed(name: str) -> Callable[[GateContext], GateResult]:
        def behaviour(context: GateContext) -> GateResult:
            started = time.monotonic()
            result = verdict(Status.PASSED, delay=0.3)(context)
            spans[name] = (started, time.monotonic())
            return result

        return behaviour

    run([ScriptedGate(name, timed(name)) for name in ("a", "b")], jobs=2)
    (a_start, a_end), (b_start, b_end) = spans["a"], spans["b"]
    assert a_start < b_end and b_start < a_end  # each started before the other ended


def test_fail_fast_stops_the_other_gates_and_marks_the_run_partial() -> None:
    slow = ScriptedGate("slow", verdict(Status.PASSED, delay=30))
    fast_fail = ScriptedGate("fails", verdict(Status.FAILED))
    started = time.monotonic()
    verify, _ = run([slow, fast_fail], jobs=2, fail_fast=True)
    assert time.monotonic() - started < 10
    slow_result, failed = verify.results
    assert failed.status is Status.FAILED
    assert slow_result.status is Status.INCOMPLETE and "stopped" in slow_result.reasons[0]
    assert verify.partial and verify.exit_code is ExitCode.CHECK_FAILED


def test_ctrl_c_marks_unfinished_gates_incomplete_and_the_run_partial() -> None:
    def interrupt(context: GateContext) -> GateResult:
        _thread.interrupt_main()  # what Ctrl-C does to the main thread
        return verdict(Status.PASSED, delay=30)(context)

    verify, _ = run([ScriptedGate("ok", verdict(Status.PASSED)), ScriptedGate("long", interrupt)])
    ok, long = verify.results
    assert ok.status is Status.PASSED
    assert long.status is Status.INCOMPLETE
    assert verify.partial and verify.exit_code is ExitCode.INCOMPLETE
    assert any("interrupted" in note for note in verify.notes)


def test_summary_renders_a_table_and_what_to_fix() -> None:
    def failing(_context: GateContext) -> GateResult:
        from opsctl.gates.interface import Finding

        return GateResult(
            gate="g",
            status=Status.FAILED,
            summary="1 finding",
            findings=[Finding(rule="r", message="fix this", file="a.py", line=3)],
        )

    verify, log = run([ScriptedGate("g", failing)])
    out = StringIO()
    Console(file=out, width=120).print(RunSummary(verify))
    text = out.getvalue()
    assert "g: failed" in log  # non-terminal consoles get one line per finished gate
    assert "a.py:3: fix this" in text and "verify FAILED (exit 1)" in text


def test_a_terminal_gets_a_live_table_with_each_gates_progress() -> None:
    out = StringIO()

    def make_context(progress: Callable[[str], None], cancelled: threading.Event) -> GateContext:
        return GateContext(
            project=PROJECT,
            definition_of_done=None,
            environment_name="local",
            environment=EnvironmentConfig(url="http://127.0.0.1:1"),
            progress=progress,
            cancelled=cancelled,
        )

    run_gates(
        [ScriptedGate("slowish", verdict(Status.PASSED, delay=0.6))],
        make_context,
        project="svc",
        environment="local",
        console=Console(file=out, force_terminal=True, width=100),
    )
    assert "slowish" in out.getvalue() and "working" in out.getvalue()


def test_sigterm_during_a_run_is_handled_like_ctrl_c() -> None:
    def on_term(signum: int, _frame: object) -> None:  # what opsctl's main() installs
        raise InterruptedByUser(f"terminated by signal {signum}")

    def terminate(context: GateContext) -> GateResult:
        _thread.interrupt_main(signal.SIGTERM)
        return verdict(Status.PASSED, delay=30)(context)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        verify, _ = run([ScriptedGate("long", terminate)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert verify.results[0].status is Status.INCOMPLETE
    assert verify.partial and verify.exit_code is ExitCode.INCOMPLETE


class ExclusiveGate(ScriptedGate):
    exclusive = True


def test_an_exclusive_gate_runs_alone_after_the_others() -> None:
    spans: dict[str, tuple[float, float]] = {}

    def timed(name: str, delay: float) -> Callable[[GateContext], GateResult]:
        def behaviour(context: GateContext) -> GateResult:
            started = time.monotonic()
            result = verdict(Status.PASSED, delay=delay)(context)
            spans[name] = (started, time.monotonic())
            return result

        return behaviour

    gates = [
        ExclusiveGate("load", timed("load", 0.3)),  # listed first, still runs last
        ScriptedGate("coverage", timed("coverage", 0.5)),
        ScriptedGate("security", timed("security", 0.5)),
    ]
    verify, _ = run(gates, jobs=4)
    assert [r.gate for r in verify.results] == ["load", "coverage", "security"]
    assert all(r.status is Status.PASSED for r in verify.results)
    load_start, _load_end = spans["load"]
    assert load_start >= max(end for _start, end in (spans["coverage"], spans["security"]))
    # the ordinary gates still ran together
    assert (
        spans["security"][0] < spans["coverage"][1] and spans["coverage"][0] < spans["security"][1]
    )


def test_two_exclusive_gates_do_not_overlap_and_fail_fast_skips_the_next() -> None:
    spans: list[tuple[float, float]] = []

    def recorded(status: Status) -> Callable[[GateContext], GateResult]:
        def behaviour(context: GateContext) -> GateResult:
            started = time.monotonic()
            result = verdict(status, delay=0.2)(context)
            spans.append((started, time.monotonic()))
            return result

        return behaviour

    gates = [ExclusiveGate(name, recorded(Status.PASSED)) for name in ("x", "y")]
    run(gates, jobs=2)
    (_first_start, first_end), (second_start, _second_end) = sorted(spans)
    assert second_start >= first_end

    failing = [
        ScriptedGate("fails", verdict(Status.FAILED)),
        ExclusiveGate("load", recorded(Status.PASSED)),
    ]
    spans.clear()
    verify, _ = run(failing, jobs=2, fail_fast=True)
    assert spans == []  # the exclusive gate never started
    assert (
        verify.results[1].status is Status.INCOMPLETE and "not run" in verify.results[1].reasons[0]
    )


# -- the runner's check of every "passed" ---------------------------------------------------


def returning(result: GateResult) -> Callable[[GateContext], GateResult]:
    return lambda _context: result


@pytest.mark.parametrize(
    ("measurements", "findings", "reasons", "corrected", "why"),
    [
        (
            [Measurement("P95 Me", 250.0, 200.0, "ms", "<", passed=False)],
            [],
            [],
            Status.FAILED,
            "measurement 'P95 Me' did not pass",
        ),
        (
            [Measurement("total coverage", None, 90.0, "%")],
            [],
            [],
            Status.INCOMPLETE,
            "measurement 'total coverage' has a threshold but no value",
        ),
        (
            [],
            [Finding("bandit/B602", "shell=True")],
            [],
            Status.FAILED,
            "error finding bandit/B602",
        ),
        ([], [], ["a dependency was skipped"], Status.INCOMPLETE, "1 reason(s)"),
        (
            [Measurement("error rate Me", 100.0, 1.0, "%", "<=", passed=False)],
            [],
            ["Me: 0 successful samples"],
            Status.FAILED,  # a failed number outweighs what could not be judged
            "did not pass",
        ),
    ],
)
def test_a_passed_verdict_contradicted_by_the_gates_own_data_is_corrected(
    measurements: list[Measurement],
    findings: list[Finding],
    reasons: list[str],
    corrected: Status,
    why: str,
) -> None:
    lying = GateResult(
        gate="x",
        status=Status.PASSED,
        summary="all good",
        measurements=measurements,
        findings=findings,
        reasons=list(reasons),
    )
    verify, log = run([ScriptedGate("buggy", returning(lying))])
    result = verify.results[0]
    assert result.status is corrected
    assert verify.exit_code is not ExitCode.OK
    correction = result.reasons[-1]
    assert correction.startswith(
        f"the runner corrected the buggy gate's own verdict 'passed' to '{corrected.value}'"
    )
    assert why in correction and "a bug in the gate" in correction
    assert f"corrected by the runner: {corrected.value}" in result.summary
    assert f"buggy: {corrected.value}" in log
    assert result.details["verdict_corrected_by_runner"]["gate_said"] == "passed"


@pytest.mark.parametrize(
    "judged",
    [
        # diff coverage with no changed line: no value, but judged explicitly ("nothing changed")
        Measurement("diff coverage vs main", None, 90.0, "%", passed=True),
        Measurement("files measured", None),  # informational, no threshold
        Measurement("total coverage", 91.5, None, "%"),  # reported without a threshold
    ],
)
def test_legitimate_passes_stand(judged: Measurement) -> None:
    honest = GateResult(
        gate="x",
        status=Status.PASSED,
        summary="judged",
        measurements=[Measurement("P95 Me", 12.0, 200.0, "ms", "<", passed=True), judged],
        findings=[
            Finding("bandit/B101", "assert", severity=Severity.NOTE),
            Finding("pip-audit/PYSEC-1", "accepted until 2099", accepted=True),
            Finding("security/bandit-config-ignored", "ignored", severity=Severity.WARNING),
        ],
    )
    verify, _ = run([ScriptedGate("honest", returning(honest))])
    assert verify.results[0].status is Status.PASSED
    assert verify.results[0].reasons == []
    assert verify.exit_code is ExitCode.OK


def test_failed_and_incomplete_verdicts_are_left_as_the_gate_gave_them() -> None:
    stale = GateResult(
        gate="x",
        status=Status.INCOMPLETE,
        summary="stale advisory database",
        measurements=[Measurement("advisory database age", 900, 30, " days", "<=", False)],
        reasons=["the advisory database is 900 days old"],
    )
    verify, _ = run([ScriptedGate("security", returning(stale))])
    assert verify.results[0].status is Status.INCOMPLETE
    assert verify.results[0].reasons == ["the advisory database is 900 days old"]


# -- a refusal or a configuration error ends the whole run ----------------------------------


@pytest.mark.parametrize(
    "error",
    [
        RefusedError("refusing to load-test the protected environment 'prod'"),
        ConfigError("scenario file x.py does not exist", file="dod.yaml", key="load.scenario"),
    ],
)
def test_a_refusal_or_config_error_from_a_gate_ends_the_run_with_its_exit_code(
    error: Exception,
) -> None:
    def refuse(_context: GateContext) -> GateResult:
        raise error

    slow = ScriptedGate("slow", verdict(Status.PASSED, delay=30))
    started = time.monotonic()
    with pytest.raises(RunAbortedError) as caught:
        run([slow, ScriptedGate("load", refuse)], jobs=2)
    assert time.monotonic() - started < 10  # the other gate was stopped, not waited for
    aborted = caught.value
    assert aborted.exit_code is ExitCode.USAGE
    assert str(aborted) == str(error)
    verify = aborted.run
    assert verify.partial
    slow_result, refused = verify.results
    assert refused.status is Status.INCOMPLETE and str(error) in refused.reasons[0]
    assert slow_result.status is Status.INCOMPLETE
    assert any("the load gate ended the run (exit 2)" in note for note in verify.notes)
    assert verify.exit_code is ExitCode.USAGE and verify.status == "refused"  # reports say 2


# -- secrets ---------------------------------------------------------------------------------

PASSWORD = "Tr0ub4dor-and-3"
SECRET_ENVIRONMENT = EnvironmentConfig(
    url="http://127.0.0.1:1",
    database_url=SecretStr(f"postgresql://app:{PASSWORD}@db.internal:5432/app"),
)


def leaky(context: GateContext) -> GateResult:
    context.progress(f"connecting to postgresql://app:{PASSWORD}@db.internal/app as {PASSWORD}")
    time.sleep(0.6)  # long enough for the live table to show the message
    return GateResult(
        gate="x",
        status=Status.FAILED,
        summary=f"login refused for password {PASSWORD}",
        findings=[Finding("leak/x", f"the server said: bad password {PASSWORD}")],
        reasons=[f"tried {PASSWORD}"],
        details={"dsn": f"host=db password={PASSWORD}", "bare": PASSWORD},
    )


@pytest.mark.parametrize("terminal", [False, True])
def test_the_environments_password_never_reaches_the_console_or_a_report(terminal: bool) -> None:
    out = StringIO()

    def make_context(progress: Callable[[str], None], cancelled: threading.Event) -> GateContext:
        return GateContext(
            project=PROJECT,
            definition_of_done=None,
            environment_name="staging",
            environment=SECRET_ENVIRONMENT,
            progress=progress,
            cancelled=cancelled,
        )

    verify = run_gates(
        [ScriptedGate("leaky", leaky)],
        make_context,
        project="svc",
        environment="staging",
        console=Console(file=out, force_terminal=terminal, width=200),
        masker=environment_masker(SECRET_ENVIRONMENT),
    )
    console_text = out.getvalue()
    if terminal:  # the live table showed the (masked) progress message
        assert "connecting to postgresql://app:***@db.internal" in console_text
    else:  # one line per finished gate, with its (masked) summary
        assert "leaky: failed — login refused for password ***" in console_text
    summary = StringIO()
    Console(file=summary, width=200).print(RunSummary(verify))
    outputs = {"console": console_text, "summary": summary.getvalue()}
    for writer in (JsonReport(), JunitReport(), MarkdownReport(), SarifReport()):
        outputs[writer.format] = writer.render(verify)
    for name, text in outputs.items():
        assert PASSWORD not in text, name
    assert "***" in outputs["json"]
