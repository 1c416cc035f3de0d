"""The load gate on a REST service (FastAPI under uvicorn): operations named by endpoint.

Real runs: Locust generators in subprocesses against the fixture on 127.0.0.1, a few seconds
each. The scenario is the one :func:`scenario_from_openapi` drafts from the service's own
OpenAPI document, or a hand-written one that sends raw paths without ``name=``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsctl.gates.interface import GateResult, Status
from opsctl.gates.load.gate import LoadGate
from opsctl.init.openapi_scenario import scenario_from_openapi
from opsctl.load.declared import declared_operations

from .conftest import (
    REST_SERVICE,
    TOKEN,
    gate_context,
    load_section,
    rest_app_module,
    write_project,
)

pytestmark = pytest.mark.slow


def run_gate(root: Path, url: str, load: dict[str, Any]) -> GateResult:
    return LoadGate().run(gate_context(write_project(root, url, load)))


def rows(result: GateResult) -> dict[str, dict[str, Any]]:
    return {row["operation"]: row for row in result.details["operations"]}


def test_the_drafted_scenario_runs_and_each_endpoint_is_judged_by_name_and_tag(
    tmp_path: Path, rest_service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = scenario_from_openapi(rest_app_module().app.openapi(), service_name="rest-fixture")
    scenario = tmp_path / "loadtests" / "rest.py"
    scenario.parent.mkdir()
    scenario.write_text(draft.source, encoding="utf-8")
    assert set(declared_operations(scenario)) == set(draft.operations)
    monkeypatch.setenv("OPSCTL_LOAD_TOKEN", TOKEN)  # the generators inherit it
    slas = [
        {"match": {"tag": "simple"}, "p95_ms": 500},
        {"match": {"operation": "GET /items/{item_id}"}, "p95_ms": 400, "min_samples": 5},
    ]
    result = run_gate(tmp_path, rest_service, load_section(scenario, rate=80, slas=slas))

    assert result.status is Status.PASSED, result.reasons
    measured = rows(result)
    assert set(measured) == set(draft.operations)
    for name, row in measured.items():
        assert row["tags"] == ["simple"], name
        assert row["verdict"] == "passed", name
        assert row["errors"] == 0, (name, row["error_messages"])  # /me got its bearer token
    by_name = measured["GET /items/{item_id}"]
    assert by_name["sla_p95_ms"] == 400  # its own SLA replaced the tag's
    assert measured["GET /me"]["sla_p95_ms"] == 500
    assert any(m.name == "P95 GET /items/{item_id}" and m.passed for m in result.measurements)


def test_without_the_token_the_drafted_scenario_makes_the_run_incomplete(
    tmp_path: Path, rest_service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = scenario_from_openapi(rest_app_module().app.openapi(), service_name="rest-fixture")
    scenario = tmp_path / "rest.py"
    scenario.write_text(draft.source, encoding="utf-8")
    monkeypatch.delenv("OPSCTL_LOAD_TOKEN", raising=False)
    result = run_gate(tmp_path, rest_service, load_section(scenario, duration="1s"))

    assert result.status is Status.INCOMPLETE
    assert any("set OPSCTL_LOAD_TOKEN" in reason for reason in result.reasons), result.reasons


def raw_path_section(**overrides: Any) -> dict[str, Any]:
    slas = [
        {"match": {"tag": "simple"}, "p95_ms": 500},
        {"match": {"tag": "missing"}, "p95_ms": 500, "max_error_rate": 0.01},
    ]
    return load_section(REST_SERVICE / "raw_paths.py", slas=slas, rate=80, **overrides)


def test_raw_paths_are_named_method_and_path_and_a_404_is_an_error(
    tmp_path: Path, rest_service: str
) -> None:
    result = run_gate(tmp_path, rest_service, raw_path_section())

    measured = rows(result)
    # FastHttpUser and HttpUser alike, the query string dropped
    assert set(measured) == {"GET /items/7", "GET /items/404", "GET /items/8", "GET /items/405"}
    for existing in ("GET /items/7", "GET /items/8"):
        assert measured[existing]["error_rate"] == 0.0
        assert measured[existing]["verdict"] == "passed"
    for missing in (measured["GET /items/404"], measured["GET /items/405"]):
        assert missing["error_rate"] == 1.0 and missing["successes"] == 0
        assert missing["tags"] == ["missing"]
        assert "404" in next(iter(missing["error_messages"]))
    assert result.status is Status.FAILED
    assert {f.rule for f in result.findings} == {"load/error-rate"}


def test_with_error_status_500_a_404_is_an_answer_not_an_error(
    tmp_path: Path, rest_service: str
) -> None:
    result = run_gate(tmp_path, rest_service, raw_path_section(error_status=500))

    assert result.status is Status.PASSED, result.reasons
    for name in ("GET /items/404", "GET /items/405"):  # FastHttpUser and HttpUser
        missing = rows(result)[name]
        assert missing["errors"] == 0 and missing["successes"] == missing["count"] > 0
        assert missing["p95_ms"] is not None
