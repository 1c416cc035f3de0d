"""The verdict on synthetic measurements: what passes, fails, or cannot be judged."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from opsctl.gates.interface import Severity, Status
from opsctl.gates.load.settings import LoadSettings
from opsctl.load.histograms import RunData
from opsctl.load.verdict import evaluate, exploration_result


def settings(**overrides: Any) -> LoadSettings:
    values: dict[str, Any] = {
        "scenario": "loadtests/x.py",
        "rate": 10,
        "warmup": "0s",
        "duration": "10s",
        "min_samples": 50,
        "slas": [
            {"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.01},
            {"match": {"operation": "LogIn"}, "p95_ms": 300},
        ],
    }
    values.update(overrides)
    return LoadSettings.model_validate(values)


def run_data(samples: dict[str, tuple[list[float], int, set[str]]]) -> RunData:
    """Operation -> (latencies in ms, failures among them, tags); rate 10/s for 10 s, met."""
    data = RunData(duration_s=10, warmup_s=0, target_rate=10, scheduled=100, began_on_time=100)
    for name, (latencies, failures, tags) in samples.items():
        stats = data.operation(name)
        stats.tags |= tags
        for index, latency in enumerate(latencies):
            error = "GraphQL error: boom" if index < failures else None
            stats.record(latency * 1000, latency * 1000, second=index % 10, error=error)
    return data


def test_every_operation_within_its_sla_passes() -> None:
    data = run_data({"Me": ([10.0] * 100, 0, {"simple"}), "LogIn": ([250.0] * 60, 0, set())})
    result = evaluate(settings(), data)
    assert result.status is Status.PASSED
    assert {m.name for m in result.measurements} >= {"P95 Me", "P95 LogIn", "error rate Me"}


def test_p95_at_the_threshold_fails_because_the_sla_is_strictly_below() -> None:
    latencies = [10.0] * 94 + [200.0] * 6  # the 95th percentile sits at 200 ms
    result = evaluate(settings(), run_data({"Me": (latencies, 0, {"simple"})}))
    assert result.status is Status.FAILED
    assert result.findings[0].rule == "load/latency"


def test_an_operation_sla_overrides_its_tag_sla() -> None:
    data = run_data({"LogIn": ([250.0] * 60, 0, {"simple"})})  # 250 > 200 (tag) but < 300
    result = evaluate(
        settings(
            slas=[
                {"match": {"tag": "simple"}, "p95_ms": 200},
                {"match": {"operation": "LogIn"}, "p95_ms": 300},
            ]
        ),
        data,
    )
    assert result.status is Status.PASSED


def test_error_budget_counts_graphql_errors() -> None:
    data = run_data({"Me": ([10.0] * 100, 2, {"simple"}), "LogIn": ([10.0] * 60, 0, set())})
    result = evaluate(settings(), data)
    assert result.status is Status.FAILED
    assert [f.rule for f in result.findings] == ["load/error-rate"]
    assert "2 of 100 requests failed" in result.findings[0].message


def test_an_sla_that_matches_nothing_never_passes() -> None:
    result = evaluate(settings(), run_data({"Me": ([10.0] * 100, 0, {"simple"})}))
    assert result.status is Status.INCOMPLETE
    assert result.reasons == ["the SLA for operation LogIn matched no operation called"]


def test_an_empty_run_is_incomplete_not_a_p95_of_zero() -> None:
    data = RunData(duration_s=10, warmup_s=0, target_rate=10, scheduled=100, began_on_time=100)
    assert evaluate(settings(), data).status is Status.INCOMPLETE


def test_a_lagging_generator_turns_misses_into_warnings_and_the_run_incomplete() -> None:
    data = run_data({"Me": ([500.0] * 100, 0, {"simple"}), "LogIn": ([10.0] * 60, 0, set())})
    data.lag.record_value(400_000)  # 400 ms late wake-ups
    result = evaluate(settings(), data)
    assert result.status is Status.INCOMPLETE
    assert "event-loop lag" in result.reasons[0]
    assert [f.severity for f in result.findings] == [Severity.WARNING]


def test_exploration_result_has_rows_and_no_verdict() -> None:
    result = exploration_result(run_data({"Me": ([10.0] * 10, 0, set())}), [])
    assert result.status is Status.SKIPPED
    assert result.details["operations"][0]["verdict"] == "no SLA"


def test_an_sla_can_ask_fewer_samples_for_a_rare_operation() -> None:
    data = run_data({"Me": ([10.0] * 100, 0, {"simple"}), "LogIn": ([250.0] * 20, 0, set())})
    strict = evaluate(settings(), data)
    assert strict.status is Status.INCOMPLETE
    assert strict.reasons[0].startswith(
        "LogIn: 20 successful samples (of 20 requests), fewer than min_samples 50"
    )
    slas = [
        {"match": {"tag": "simple"}, "p95_ms": 200},
        {"match": {"operation": "LogIn"}, "p95_ms": 300, "min_samples": 20},
    ]
    assert evaluate(settings(slas=slas), data).status is Status.PASSED


BUDGET_99 = [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.99}]


def test_fast_failures_do_not_pull_the_p95_of_the_successes_down() -> None:
    # 3000 refusals in 1 ms and 100 answers in 250 ms: over every request the P95 is 1 ms
    data = run_data({"Me": ([1.0] * 3000 + [250.0] * 100, 3000, {"simple"})})
    result = evaluate(settings(slas=BUDGET_99), data)
    assert result.status is Status.FAILED
    p95 = next(m for m in result.measurements if m.name == "P95 Me")
    assert p95.value is not None and abs(p95.value - 250) <= 0.25 and p95.passed is False
    row = result.details["operations"][0]
    assert (row["count"], row["successes"], row["errors"]) == (3100, 100, 3000)
    assert [f.rule for f in result.findings] == ["load/latency"]


def test_a_service_that_refused_everything_fails_its_error_budget_with_no_latency() -> None:
    data = run_data({"Me": ([1.0] * 200, 200, {"simple"})})
    result = evaluate(settings(slas=BUDGET_99), data)
    assert result.status is Status.FAILED
    assert [f.rule for f in result.findings] == ["load/error-rate"]
    p95 = next(m for m in result.measurements if m.name == "P95 Me")
    assert p95.value is None and p95.passed is None  # not measured, never passed
    row = result.details["operations"][0]
    assert row["p95_ms"] is None and row["max_ms"] is None and row["successes"] == 0
    assert result.reasons == []  # failed outright: the error rate alone decides it


def test_too_few_successful_samples_within_the_error_budget_is_incomplete() -> None:
    # 100 requests (enough) but only 30 answered (fewer than min_samples 50), 70 % errors
    # within an 80 % budget: the P95 of the answers cannot be established
    budget = [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.8}]
    data = run_data({"Me": ([1.0] * 70 + [10.0] * 30, 70, {"simple"})})
    result = evaluate(settings(slas=budget), data)
    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "Me: 30 successful samples (of 100 requests), fewer than min_samples 50: its P95 "
        "cannot be established (raise duration or rate)"
    ]
    assert "every SLA met" not in result.summary


def test_max_error_rate_must_be_below_1() -> None:
    with pytest.raises(ValidationError, match="less than 1"):
        settings(slas=[{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 1.0}])


def healthy() -> RunData:
    data = run_data({"Me": ([10.0] * 100, 0, {"simple"}), "LogIn": ([10.0] * 60, 0, set())})
    for _ in range(1800):  # 50 ms probes on time: P99 of the lag stays at zero
        data.lag.record_value(0)
    return data


def test_the_healthy_baseline_passes() -> None:
    assert evaluate(settings(), healthy()).status is Status.PASSED


def test_one_long_generator_freeze_makes_the_run_incomplete_although_the_p99_lag_is_low() -> None:
    data = healthy()
    data.lag.record_value(2_000_000)  # one 2 s freeze among 1800 on-time probes
    assert data.lag_p99_ms() < 1
    result = evaluate(settings(), data)
    assert result.status is Status.INCOMPLETE
    assert any(re.search(r"froze for 200\d ms", reason) for reason in result.reasons)


def test_an_arrival_begun_late_with_a_user_free_makes_the_run_incomplete() -> None:
    data = healthy()
    data.start_delay.record_value(1_500_000)
    result = evaluate(settings(), data)
    assert result.status is Status.INCOMPLETE
    assert any(re.search(r"began 150\d ms after it was due", reason) for reason in result.reasons)


def test_arrivals_that_sent_nothing_are_reported_and_never_a_success() -> None:
    data = healthy()
    data.empty_arrivals = 3
    result = evaluate(settings(), data)
    assert result.status is Status.INCOMPLETE
    assert any("3 arrival(s) sent no request" in reason for reason in result.reasons)
    assert result.details["run"]["empty_arrivals"] == 3


def test_a_declared_operation_of_a_tag_that_never_ran_makes_the_tag_sla_incomplete() -> None:
    declared = {
        "Me": frozenset({"simple"}),
        "TaskDetail": frozenset({"simple"}),
        "LogIn": frozenset(),
    }
    result = evaluate(settings(), healthy(), declared=declared)
    assert result.status is Status.INCOMPLETE
    assert any(
        reason.startswith("TaskDetail (tags simple): declared in the scenario but ran 0 time(s)")
        for reason in result.reasons
    )


def test_every_declared_operation_measured_passes() -> None:
    declared = {"Me": frozenset({"simple"}), "LogIn": frozenset()}
    assert evaluate(settings(), healthy(), declared=declared).status is Status.PASSED


def test_a_rate_above_what_the_scenario_lets_one_generator_drive_is_incomplete() -> None:
    data = healthy()  # 10/s on one generator, every health signal green
    data.arrivals, data.cpu_s = 100, 9.0  # but each arrival cost 90 ms of the generator's CPU
    result = evaluate(settings(), data)
    assert result.status is Status.INCOMPLETE
    [reason] = [r for r in result.reasons if "ms of CPU per arrival" in r]
    assert reason.startswith("the scenario costs its generator 90.0 ms of CPU per arrival here")
    assert "one process sustains about 11 arrivals/s, and each was asked for 10/s" in reason
    [capacity] = [m for m in result.measurements if m.name == "rate per generator"]
    assert (capacity.value, capacity.threshold, capacity.passed) == (10, 8.89, False)


def test_a_cheap_scenario_is_within_the_generators_capacity() -> None:
    data = healthy()
    data.arrivals, data.cpu_s = 100, 0.1  # 1 ms per arrival: about 1000/s per process
    result = evaluate(settings(), data)
    assert result.status is Status.PASSED
    [capacity] = [m for m in result.measurements if m.name == "rate per generator"]
    assert capacity.passed and capacity.threshold == 800
    too_few = healthy()
    too_few.arrivals, too_few.cpu_s = 10, 5.0  # start-up noise, not a calibration
    names = [m.name for m in evaluate(settings(), too_few).measurements]
    assert "rate per generator" not in names
