"""The verdict on synthetic measurements: what passes, fails, or cannot be judged."""

from __future__ import annotations

from typing import Any

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
    assert strict.reasons[0].startswith("LogIn: 20 samples, fewer than min_samples 50")
    slas = [
        {"match": {"tag": "simple"}, "p95_ms": 200},
        {"match": {"operation": "LogIn"}, "p95_ms": 300, "min_samples": 20},
    ]
    assert evaluate(settings(slas=slas), data).status is Status.PASSED
