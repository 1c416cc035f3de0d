"""The api gate end to end on the fixture services: verdict, acceptance, honesty rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.opsctl.gates.api.conftest import FIXTURES, LOGIN, PERSONAS
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError
from opsctl.gates.api.gate import ApiGate
from opsctl.gates.api.probe import ProbeTarget
from opsctl.gates.api.settings import FAMILIES
from opsctl.gates.interface import GateContext, GateResult, Severity, Status

SAFE_FAMILIES = ["exposure", "denial_of_service"]
#: Every family, with the fixtures' log-in flow, personas and SDL (the hardened one refuses
#: introspection).
EVERY_FAMILY: dict[str, Any] = {
    "schema_files": ["schema.graphql"],
    "login": LOGIN.model_dump(exclude_none=True),
    "personas": [persona.model_dump() for persona in PERSONAS],
    "fuzzing": {"max_examples": 10, "max_time": "20s"},
}


def write_project(root: Path, url: str, api: dict[str, Any], *, protected: bool = False) -> Path:
    (root / "checks").mkdir(parents=True, exist_ok=True)
    sdl = (FIXTURES / "_common" / "schema.graphql").read_text(encoding="utf-8")
    (root / "schema.graphql").write_text(sdl, encoding="utf-8")
    config = {
        "service": {"name": "api-fixture"},
        "environments": {"fixture": {"url": url, "protected": protected}},
    }
    (root / "opsctl.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "checks" / "definition-of-done.yaml").write_text(
        yaml.safe_dump({"api": api}, sort_keys=False), encoding="utf-8"
    )
    return root / "opsctl.yaml"


def run_gate(config_path: Path) -> GateResult:
    project = load_project(config_path)
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="fixture",
        environment=get_environment(project, "fixture"),
    )
    return ApiGate().run(context)


def failing_rules(result: GateResult) -> set[str]:
    return {f.rule for f in result.findings if f.severity is Severity.ERROR and not f.accepted}


#: Every hole the vulnerable fixture plants (tests/fixtures/api/vulnerable), by probe id.
PLANTED = {
    "api/dos-aliases",
    "api/dos-batching",
    "api/dos-deep-nesting",
    "api/dos-fragment-fanout",
    "api/dos-nested-json",
    "api/dos-huge-body",
    "api/dos-chunked-body",
    "api/dos-field-duplication",
    "api/cost-aliased-password-hash",
    "api/rate-limit-forwarded-headers",
    "api/brute-force-account",
    "api/brute-force-address",
    "api/auth-missing-token",
    "api/auth-tampered-signature",
    "api/auth-alg-none",
    "api/auth-algorithm-switch",
    "api/auth-expired",
    "api/auth-wrong-audience",
    "api/auth-wrong-issuer",
    "api/auth-refresh-reuse",
    "api/auth-after-logout",
    "api/authz-cross-tenant-read",
    "api/authz-existence-oracle",
    "api/authz-cross-tenant-write",
    "api/exposure-introspection",
    "api/exposure-suggestions-field",
    "api/exposure-suggestions-argument",
    "api/exposure-suggestions-type",
    "api/exposure-suggestions-enum-value",
    "api/exposure-error-leak",
    "api/exposure-ide",
    "api/exposure-get-mutation",
    "api/exposure-csrf-content-type",
    "api/exposure-security-headers",
    "api/exposure-cors",
    "api/fuzz-server-error",
}
#: Reported as warnings, not failures.
WARNED = {"api/exposure-get-query", "api/exposure-metrics", "api/exposure-tracing"}


def test_fails_on_the_vulnerable_service_naming_every_planted_hole(
    tmp_path: Path, vulnerable: ProbeTarget
) -> None:
    result = run_gate(write_project(tmp_path, vulnerable.base_url, EVERY_FAMILY))
    assert result.status is Status.FAILED
    assert failing_rules(result) == PLANTED, result.reasons
    warned = {f.rule for f in result.findings if f.severity is Severity.WARNING}
    assert warned >= WARNED
    assert result.reasons == []  # every probe could judge
    finding = next(f for f in result.findings if f.rule == "api/exposure-introspection")
    # where it would be accepted, what was sent and what came back, how to fix it
    assert finding.file == "checks/definition-of-done.yaml" and finding.line == 1
    assert "sent POST" in finding.message and "__schema" in finding.message
    assert finding.help and "curl" in finding.help
    assert set(result.details["family_seconds"]) == set(FAMILIES)


def test_passes_on_the_hardened_service(tmp_path: Path, hardened: ProbeTarget) -> None:
    result = run_gate(write_project(tmp_path, hardened.base_url, EVERY_FAMILY))
    assert result.status is Status.PASSED, (result.findings, result.reasons)
    assert result.measurements[0].value and result.measurements[0].value >= 30


def test_a_rest_service_gets_the_probes_that_speak_http(
    tmp_path: Path, rest_vulnerable: ProbeTarget
) -> None:
    api = {"kind": "rest", "families": ["exposure", "fuzzing", "denial_of_service"]}
    result = run_gate(write_project(tmp_path, rest_vulnerable.base_url, api))
    assert result.status is Status.FAILED
    assert failing_rules(result) == {
        "api/fuzz-server-error",
        "api/fuzz-schema-violation",
        "api/exposure-security-headers",
    }
    assert result.details["not_run"]["exposure.introspection"].endswith("the service is REST")
    # no operation takes a JSON body here: the body probes say so instead of passing
    assert "JSON body" in result.details["not_run"]["denial_of_service.nested_json"]


def test_a_rest_service_without_a_log_in_flow_lists_the_families_it_can_run(
    tmp_path: Path, rest_hardened: ProbeTarget
) -> None:
    api = {"kind": "rest", "families": ["exposure", "authorization"]}
    result = run_gate(write_project(tmp_path, rest_hardened.base_url, api))
    assert result.status is Status.INCOMPLETE
    assert any("GraphQL only" in reason for reason in result.reasons)


def test_a_service_that_is_not_there_is_incomplete_not_passed(tmp_path: Path) -> None:
    result = run_gate(write_project(tmp_path, "http://127.0.0.1:9", {"families": ["exposure"]}))
    assert result.status is Status.INCOMPLETE
    assert "does not answer { __typename }" in result.reasons[0]
    assert result.measurements[0].value == 0  # no probe ran


def test_a_url_that_is_not_graphql_is_incomplete_not_passed(
    tmp_path: Path, rest_hardened: ProbeTarget
) -> None:
    result = run_gate(write_project(tmp_path, rest_hardened.base_url, {"families": ["exposure"]}))
    assert result.status is Status.INCOMPLETE
    assert "HTTP 404" in result.reasons[0]


def test_an_accepted_probe_is_a_note_until_it_expires(
    tmp_path: Path, vulnerable: ProbeTarget
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    accepted = [
        {"probe": "api/exposure-introspection", "reason": "staff tool", "expires": str(today)},
        {"probe": "api/exposure-error-leak", "reason": "old", "expires": "2020-01-01"},
        {"probe": "api/exposure-ide", "reason": "staff tool", "expires": str(today)},
        {"probe": "api/dos-batching", "reason": "never found", "expires": str(today)},
    ]
    api = {**EVERY_FAMILY, "families": ["exposure"], "accepted": accepted}
    result = run_gate(write_project(tmp_path, vulnerable.base_url, api))
    by_rule = {f.rule: f for f in result.findings}
    introspection = by_rule["api/exposure-introspection"]
    assert introspection.accepted and introspection.severity is Severity.NOTE
    assert "staff tool" in introspection.message
    leak = by_rule["api/exposure-error-leak"]
    assert not leak.accepted and "expired on 2020-01-01" in leak.message
    unused = by_rule["api/unused-acceptance"]
    assert unused.severity is Severity.WARNING and "api/dos-batching" in unused.message
    assert result.status is Status.FAILED


def test_a_family_without_its_log_in_flow_is_incomplete(
    tmp_path: Path, hardened: ProbeTarget
) -> None:
    api = {"families": ["exposure", "authentication"]}
    result = run_gate(write_project(tmp_path, hardened.base_url, api))
    assert result.status is Status.INCOMPLETE
    assert any("api.login" in reason for reason in result.reasons)


def test_a_protected_environment_gets_only_the_safe_families(
    tmp_path: Path, vulnerable: ProbeTarget
) -> None:
    api = {**EVERY_FAMILY, "families": ["exposure", "denial_of_service"]}
    result = run_gate(write_project(tmp_path, vulnerable.base_url, api, protected=True))
    assert "denial_of_service" in result.details["not_run"]
    assert not {r for r in failing_rules(result) if r.startswith("api/dos-")}
    assert "api/exposure-introspection" in failing_rules(result)


def test_an_unknown_family_is_a_configuration_error(tmp_path: Path) -> None:
    config = write_project(tmp_path, "http://127.0.0.1:9", {"families": ["dos"]})
    with pytest.raises(ConfigError) as raised:
        load_definition_of_done(load_project(config))
    assert "api.families" in str(raised.value) or "families" in str(raised.value)


def test_verify_api_exits_1_on_the_vulnerable_service(
    tmp_path: Path, vulnerable: ProbeTarget
) -> None:
    config = write_project(tmp_path, vulnerable.base_url, {"families": ["exposure"]})
    report = tmp_path / "verify.sarif"
    result = CliRunner().invoke(
        app, ["--config", str(config), "verify", "api", "--env", "fixture", "--sarif", str(report)]
    )
    assert result.exit_code == 1, result.output
    assert "api/exposure-introspection" in report.read_text(encoding="utf-8")
