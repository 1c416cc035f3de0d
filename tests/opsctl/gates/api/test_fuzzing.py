"""The fuzzing family: real schemathesis against real fixture services on loopback.

It fails on the REST fixture's two holes (a 500, a response outside its schema) and on the
GraphQL fixture's crashing resolver, each named with a curl line; it passes on the hardened
REST fixture; and it is incomplete, never passed, when it cannot judge.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.gates.api import fuzzing
from opsctl.gates.api.probe import ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.settings import ApiSettings

from .conftest import _serve

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "api"


@pytest.fixture(scope="module")
def graphql_fuzz() -> Iterator[ProbeTarget]:
    yield from _serve("graphql_fuzz")


def _target(
    served: ProbeTarget, extra: dict[str, Any] | None = None, **settings: Any
) -> ProbeTarget:
    api = ApiSettings(**settings)
    return ProbeTarget(
        base_url=served.base_url, endpoint=api.endpoint, settings=api, extra=dict(extra or {})
    )


def test_rest_fuzzing_names_the_server_error_and_the_schema_violation(
    rest_vulnerable: ProbeTarget,
) -> None:
    target = _target(rest_vulnerable, kind="rest")
    findings = fuzzing.fuzz(target)
    by_probe = {finding.probe: finding for finding in findings}
    assert set(by_probe) == {"api/fuzz-server-error", "api/fuzz-schema-violation"}
    assert "GET /items/{item_id}" in by_probe["api/fuzz-server-error"].message
    assert "HTTP 500" in by_probe["api/fuzz-server-error"].received
    assert "GET /users/{user_id}" in by_probe["api/fuzz-schema-violation"].message
    for finding in findings:
        assert finding.curl.startswith("curl ")
        assert rest_vulnerable.base_url in finding.curl
        assert finding.sent and finding.fix
    summary = target.extra["fuzzing"]
    assert summary["operations"] == summary["operations_tried"] == 2
    assert summary["examples"] > 0
    assert summary["schemathesis"] == "4.32.5"
    assert fuzzing.completeness(target) == []


def test_rest_fuzzing_passes_on_the_hardened_service(rest_hardened: ProbeTarget) -> None:
    target = _target(rest_hardened, kind="rest")
    assert fuzzing.fuzz(target) == []
    assert target.extra["fuzzing"]["operations_tried"] == 2
    assert fuzzing.completeness(target) == []


def test_graphql_fuzzing_names_the_failing_resolver(graphql_fuzz: ProbeTarget) -> None:
    target = _target(graphql_fuzz)
    findings = fuzzing.fuzz(target)
    assert [finding.probe for finding in findings] == ["api/fuzz-server-error"]
    assert findings[0].message.startswith("Query.square:")
    assert "curl " in findings[0].curl and "square" in findings[0].curl


def test_graphql_fuzzing_reads_the_sdl_when_introspection_is_off(
    graphql_fuzz: ProbeTarget,
) -> None:
    sdl = str((FIXTURES / "graphql_fuzz" / "schema.graphql").relative_to(FIXTURES))
    target = _target(
        graphql_fuzz,
        extra={"project_root": str(FIXTURES), "auth_header": ("Authorization", "Bearer secret")},
        endpoint="/private",
        schema_files=[sdl],
    )
    findings = fuzzing.fuzz(target)
    assert [finding.message.split(":")[0] for finding in findings] == ["Query.square"]
    assert "/private" in findings[0].curl
    assert "secret" not in findings[0].curl  # schemathesis masks the header
    assert "secret" not in target.extra["fuzzing"]["command"]


def test_no_introspection_and_no_sdl_is_incomplete(graphql_fuzz: ProbeTarget) -> None:
    with pytest.raises(ProbeIncomplete, match=r"api\.schema_files"):
        fuzzing.fuzz(_target(graphql_fuzz, endpoint="/private"))


def test_a_schema_path_that_answers_404_is_incomplete(rest_hardened: ProbeTarget) -> None:
    target = _target(rest_hardened, kind="rest", openapi="/missing.json")
    with pytest.raises(ProbeIncomplete, match="404"):
        fuzzing.fuzz(target)
    assert fuzzing.completeness(target) == []  # said once, by the fuzz probe


def test_time_running_out_before_every_operation_is_incomplete(
    rest_hardened: ProbeTarget,
) -> None:
    target = _target(rest_hardened, kind="rest", fuzzing={"max_examples": 5000, "max_time": 4})
    with pytest.raises(ProbeIncomplete, match=r"max_time\) ran out"):
        fuzzing.fuzz(target)
    summary = target.extra["fuzzing"]
    assert summary["operations_tried"] < summary["operations"] == 2
    assert summary["seconds"] < 4 + 6  # the deadline plus the grace to write the reports


def test_findings_with_untried_operations_keep_the_gate_incomplete() -> None:
    target = ProbeTarget(base_url="http://127.0.0.1:9")
    target.extra["fuzzing"] = {"incomplete": "the time ran out with 1 of 2 operations fuzzed"}
    with pytest.raises(ProbeIncomplete, match="1 of 2"):
        fuzzing.completeness(target)


def test_never_against_a_protected_environment() -> None:
    target = ProbeTarget(base_url="http://127.0.0.1:9", protected=True)
    with pytest.raises(ProbeNotRun):
        fuzzing.fuzz(target)
