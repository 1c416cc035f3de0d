"""The load gate against fixture services on loopback: each failure mode, and a healthy pass.

Every run is a real one: Locust generators in subprocesses, a real HTTP service on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from opsctl.errors import DependencyError, RefusedError
from opsctl.gates.interface import GateResult, Status
from opsctl.gates.load.gate import LoadGate

from .conftest import FIXTURES, gate_context, load_section, write_project

pytestmark = pytest.mark.slow


def run_gate(tmp_path: Path, url: str, load: dict[str, Any]) -> GateResult:
    return LoadGate().run(gate_context(write_project(tmp_path, url, load)))


def operation(result: GateResult, name: str) -> dict[str, Any]:
    rows = {row["operation"]: row for row in result.details["operations"]}
    return rows[name]


def test_a_healthy_service_passes_and_the_report_is_self_contained(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service()
    result = run_gate(tmp_path, service.url, load_section("fast_only.py"))

    assert result.status is Status.PASSED, result.reasons
    fast = operation(result, "Fast")
    assert fast["count"] >= 150  # 60/s for 3 s, warm-up excluded
    assert fast["count"] <= 185
    assert fast["p95_ms"] < 200
    assert fast["server_p95_ms"] is not None  # from /metrics deltas over the window
    assert result.details["run"]["warmup_requests_excluded"] >= 50
    page = Path(result.details["html_report"]).read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    assert "<polyline" in page
    for external in ("<script", "<link", "src=", "href=", "url("):
        assert external not in page


def test_a_slow_operation_fails_its_sla_while_the_fast_one_passes(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service(slow_ms=300)
    slas = [
        {"match": {"tag": "simple"}, "p95_ms": 200},
        {"match": {"tag": "complex"}, "p95_ms": 250},
    ]
    result = run_gate(tmp_path, service.url, load_section("mixed.py", min_samples=20, slas=slas))

    assert result.status is Status.FAILED
    assert operation(result, "Slow")["verdict"] == "failed"
    assert operation(result, "Slow")["p95_ms"] >= 300
    assert operation(result, "Fast")["verdict"] == "passed"
    assert [f.rule for f in result.findings] == ["load/latency"]
    assert "Slow" in result.findings[0].message
    assert 250 <= operation(result, "Slow")["server_p95_ms"] <= 500


def test_graphql_errors_with_http_200_fail_the_error_budget(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service()
    result = run_gate(tmp_path, service.url, load_section("broken.py", min_samples=20))

    assert result.status is Status.FAILED
    broken = operation(result, "Broken")
    assert broken["error_rate"] == 1.0
    assert "resolver exploded" in next(iter(broken["error_messages"]))
    assert operation(result, "Fast")["error_rate"] == 0.0
    assert {f.rule for f in result.findings} == {"load/error-rate"}


def test_graphql_errors_fail_whatever_user_class_sent_them(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service()
    result = run_gate(tmp_path, service.url, load_section("plain_locust.py", min_samples=20))

    assert result.status is Status.FAILED
    broken = operation(result, "Broken")
    assert broken["error_rate"] == 1.0
    assert "resolver exploded" in next(iter(broken["error_messages"]))
    assert operation(result, "Fast")["error_rate"] == 0.0


def test_a_service_that_is_down_fails_and_shows_no_latency(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on: every request refused
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}"
    slas = [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.99}]
    result = run_gate(tmp_path, down, load_section("fast_only.py", slas=slas))

    assert result.status is Status.FAILED
    fast = operation(result, "Fast")
    assert fast["count"] >= 150 and fast["successes"] == 0 and fast["error_rate"] == 1.0
    # refusals take a millisecond: counted as latencies they made a down service look fast
    assert fast["p95_ms"] is None and fast["max_ms"] is None
    p95 = next(m for m in result.measurements if m.name == "P95 Fast")
    assert p95.value is None and p95.passed is None
    assert [f.rule for f in result.findings] == ["load/error-rate"]
    assert "every SLA met" not in result.summary


def test_fast_errors_do_not_pull_the_p95_of_the_successes_down(
    tmp_path: Path, fixture_service: Any
) -> None:
    # Flaky: 2 in 3 requests fail at once; 10 % of the successes take 300 ms. Over every
    # response the slow ones are 3.3 % (P95 fast, passes); over the successes 10 % (P95 slow).
    service = fixture_service(slow_ms=300)
    slas = [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.9}]
    result = run_gate(tmp_path, service.url, load_section("flaky.py", slas=slas))

    assert result.status is Status.FAILED, result.summary
    flaky = operation(result, "Flaky")
    assert 0.6 <= flaky["error_rate"] <= 0.7
    assert flaky["p95_ms"] >= 300
    assert [f.rule for f in result.findings] == ["load/latency"]
    assert "successful samples" in result.findings[0].message


def test_a_two_second_freeze_fails_where_a_closed_model_passes(
    tmp_path: Path, fixture_service: Any
) -> None:
    # Measured window 1 s .. 7 s; the freeze holds every request from 3 s to 5 s.
    frozen = fixture_service(freeze_after=3.0, freeze_s=2.0)
    result = run_gate(tmp_path, frozen.url, load_section("fast_only.py", duration="6s"))

    assert result.status is Status.FAILED
    fast = operation(result, "Fast")
    assert fast["p95_ms"] > 1000  # a third of the arrivals were due during the freeze
    # The generator kept the schedule through the freeze (open model): nothing was omitted.
    assert result.details["run"]["achieved_rate"] >= 0.95 * 60

    # Plain Locust against the same kind of freeze: its users stop sending while they wait,
    # so the freeze is a handful of samples and its P95 passes a 200 ms SLA.
    closed = fixture_service(freeze_after=3.0, freeze_s=2.0)
    output = subprocess.run(
        [sys.executable, str(FIXTURES / "closed_model.py"), closed.url, "2", "30", "7"],
        capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    ).stdout  # fmt: skip
    measured = json.loads(output.strip().splitlines()[-1])
    assert measured["p95_ms"] < 200 < fast["p95_ms"]


def test_a_rate_the_generator_cannot_reach_is_incomplete_not_passed(
    tmp_path: Path, fixture_service: Any
) -> None:
    service = fixture_service()
    result = run_gate(
        tmp_path, service.url, load_section("cpu_bound.py", rate=100, drain_timeout="2s")
    )

    # calibrated on this machine with the scenario's own code, and stopped there: its numbers
    # would measure the generator
    assert result.status is Status.INCOMPLETE
    [reason] = result.reasons
    expected = r"refused after \d+ arrivals: the scenario costs generator 0 \d+\.\d ms of CPU"
    assert re.match(expected, reason), reason
    assert "one process sustains about" in reason and "below the 100/s asked of each" in reason
    assert result.summary == "refused: the generators cannot drive this rate here"


def test_too_few_samples_is_incomplete(tmp_path: Path, fixture_service: Any) -> None:
    service = fixture_service()
    result = run_gate(tmp_path, service.url, load_section("fast_only.py", min_samples=1000))

    assert result.status is Status.INCOMPLETE
    assert any("fewer than min_samples 1000" in reason for reason in result.reasons)


def test_scenario_exceptions_make_the_run_incomplete(tmp_path: Path, fixture_service: Any) -> None:
    service = fixture_service()
    result = run_gate(tmp_path, service.url, load_section("raises.py"))

    assert result.status is Status.INCOMPLETE
    assert any("KeyError" in reason for reason in result.reasons)


def test_a_rate_above_the_generators_capacity_is_refused_before_running(tmp_path: Path) -> None:
    load = load_section("fast_only.py", rate=5000, max_rate_per_worker=400, workers=2)
    result = run_gate(tmp_path, "http://127.0.0.1:9", load)

    assert result.status is Status.INCOMPLETE
    assert "above what 2 generator(s) can sustain" in result.reasons[0]


def test_a_protected_environment_is_refused(tmp_path: Path) -> None:
    config = write_project(
        tmp_path, "http://127.0.0.1:9", load_section("fast_only.py"), protected=True
    )
    with pytest.raises(RefusedError, match="protected environment 'fixture'"):
        LoadGate().run(gate_context(config))


def test_on_local_the_gate_serves_the_app_on_a_throwaway_database_and_stops_it(
    tmp_path: Path, postgres_server_url: str
) -> None:
    shutil.copy(FIXTURES / "asgi_app.py", tmp_path / "asgi_app.py")
    (tmp_path / "checks").mkdir()
    config = {
        "service": {"name": "fixture-app", "app": "asgi_app:create_app"},
        "environments": {
            "local": {"url": "http://127.0.0.1:9", "database_url": postgres_server_url}
        },
    }
    (tmp_path / "opsctl.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    load = load_section("fast_only.py", server_workers=2)
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(
        yaml.safe_dump({"load": load}), encoding="utf-8"
    )
    result = LoadGate().run(gate_context(tmp_path / "opsctl.yaml", environment="local"))

    assert result.status is Status.PASSED, result.reasons
    target = result.details["target"]
    assert target.startswith("http://127.0.0.1:") and not target.endswith(":9")
    with pytest.raises(httpx.TransportError):  # the service is gone after the run
        httpx.get(target + "/readyz", timeout=2)
    with psycopg.connect(postgres_server_url) as connection:  # and so is its database
        left = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
            (f"opsctl_tmp_{os.getpid()}_%",),
        ).fetchone()
    assert left == (0,)


def test_a_scenario_without_users_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="defines no Locust user class"):
        run_gate(tmp_path, "http://127.0.0.1:9", load_section("no_users.py"))


def test_requests_never_answered_fail_the_gate(tmp_path: Path, fixture_service: Any) -> None:
    service = fixture_service(freeze_after=2.0, freeze_s=30.0)  # hangs from 2 s to the end
    result = run_gate(tmp_path, service.url, load_section("fast_only.py", drain_timeout="1s"))

    assert result.status is Status.FAILED
    assert "load/unanswered" in {f.rule for f in result.findings}
    assert result.details["run"]["unfinished"] >= 60  # about 2 s of arrivals at 60/s
