"""REST operation names, their declaration in scenario source, SLA matching and error_status.

In-process and fast: nothing here imports Locust (the engine's naming lives in
``opsctl.load.engine_names``, gevent-free).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from opsctl.gates.interface import Status
from opsctl.gates.load.settings import LoadSettings
from opsctl.load.declared import declared_operations
from opsctl.load.engine_names import operation_name
from opsctl.load.histograms import RunData
from opsctl.load.launcher import LoadPlan
from opsctl.load.spec import RunShare
from opsctl.load.verdict import evaluate


@pytest.mark.parametrize(
    ("request_type", "name", "expected"),
    [
        ("GET", "/items/123?x=1", "GET /items/123"),
        ("get", "/items/123#top", "GET /items/123"),
        ("DELETE", "/items/{id}", "DELETE /items/{id}"),
        ("GET", "GET /items/{id}", "GET /items/{id}"),  # an explicit name is kept
        ("POST", "TaskDetail", "TaskDetail"),  # a GraphQL operation name too
        ("GET", "http://other.test/x", "http://other.test/x"),
    ],
)
def test_a_raw_path_is_named_method_and_path(request_type: str, name: str, expected: str) -> None:
    assert operation_name(request_type, name) == expected


def test_rest_requests_are_declared_under_the_names_the_engine_gives_them(tmp_path: Path) -> None:
    scenario = tmp_path / "rest.py"
    scenario.write_text(
        "from locust import FastHttpUser, tag, task\n"
        "class U(FastHttpUser):\n"
        "    @tag('simple')\n"
        "    @task\n"
        "    def raw(self):\n"
        "        self.client.get('/healthz?deep=1')\n"
        "        self.client.request('post', '/items', json={})\n"
        "        self.client.delete(url='/items/1')\n"
        "    @tag('complex')\n"
        "    @task\n"
        "    def named(self):\n"
        "        self.client.get(f'/items/{self.id}', name='GET /items/{id}')\n"
        "        self.client.put(f'/items/{self.id}', name='/items/{id}')\n"
        "        self.client.get(f'/items/{self.id}')  # no literal: not declared\n"
        "        self.client.get('/x', name=self.label)  # named at run time: not declared\n"
        "        self.headers.get('/not-a-request')\n",
        encoding="utf-8",
    )
    assert declared_operations(scenario) == {
        "GET /healthz": frozenset({"simple"}),
        "POST /items": frozenset({"simple"}),
        "DELETE /items/1": frozenset({"simple"}),
        "GET /items/{id}": frozenset({"complex"}),
        "PUT /items/{id}": frozenset({"complex"}),
    }


def settings(**overrides: Any) -> LoadSettings:
    values: dict[str, Any] = {
        "scenario": "loadtests/rest.py",
        "rate": 10,
        "warmup": "0s",
        "duration": "10s",
        "min_samples": 50,
        "slas": [{"match": {"operation": "GET /items/{id}"}, "p95_ms": 200}],
    }
    values.update(overrides)
    return LoadSettings.model_validate(values)


def run_data(names: dict[str, set[str]], count: int = 100) -> RunData:
    data = RunData(duration_s=10, warmup_s=0, target_rate=10, scheduled=100, began_on_time=100)
    for name, tags in names.items():
        stats = data.operation(name)
        stats.tags |= tags
        for index in range(count):
            stats.record(10_000, 10_000, second=index % 10, error=None)
    return data


def test_an_sla_matches_a_rest_operation_by_name_and_by_tag() -> None:
    slas = [
        {"match": {"operation": "GET /items/{id}"}, "p95_ms": 200},
        {"match": {"tag": "simple"}, "p95_ms": 100},
    ]
    data = run_data({"GET /items/{id}": {"simple"}, "GET /healthz": {"simple"}})
    result = evaluate(settings(slas=slas), data, declared={"GET /healthz": frozenset({"simple"})})
    assert result.status is Status.PASSED, result.reasons
    limits = {row["operation"]: row["sla_p95_ms"] for row in result.details["operations"]}
    assert limits == {"GET /items/{id}": 200, "GET /healthz": 100}


def test_a_declared_rest_operation_that_never_ran_makes_the_run_incomplete() -> None:
    declared = {"GET /items/{id}": frozenset({"simple"}), "GET /me": frozenset({"simple"})}
    result = evaluate(settings(), run_data({"GET /items/{id}": {"simple"}}), declared=declared)
    assert result.status is Status.INCOMPLETE
    assert result.reasons[0].startswith("GET /me (tags simple): declared in the scenario but ran 0")


def test_an_sla_written_as_a_bare_path_says_which_operation_was_meant() -> None:
    slas = [{"match": {"operation": "/items/{id}"}, "p95_ms": 200}]
    result = evaluate(settings(slas=slas), run_data({"GET /items/{id}": set()}))
    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "the SLA for operation /items/{id} matched no operation called "
        "(did you mean 'GET /items/{id}'?)"
    ]


def test_error_status_defaults_to_400_and_stays_an_http_status() -> None:
    assert settings().error_status == 400
    assert settings(error_status=500).error_status == 500
    for wrong in (99, 600, "often"):
        with pytest.raises(ValidationError, match="error_status"):
            settings(error_status=wrong)


def test_error_status_reaches_each_worker_share() -> None:
    plan = LoadPlan(scenario=Path("x.py"), host="h", rate=1, warmup_s=0, duration_s=1)
    assert plan.error_status == 400
    share = RunShare(
        host="h", total_rate=1, stride=1, offset=0, warmup_s=0, duration_s=1, max_users=1,
        drain_timeout_s=1, error_status=500,
    )  # fmt: skip
    assert RunShare.from_message(share.to_message()).error_status == 500
