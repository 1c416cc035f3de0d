"""Every denial-of-service and exposure probe fails on the vulnerable fixture (naming its id)
and passes on the hardened one; the two that graphql-core itself refuses fail on time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opsctl.gates.api import denial_of_service, exposure, http_exposure
from opsctl.gates.api.probe import ProbeFinding, ProbeTarget

Probe = Callable[[ProbeTarget], list[ProbeFinding]]
EXPECTED: dict[Probe, set[str]] = {
    denial_of_service.alias_overloading: {"api/dos-aliases"},
    denial_of_service.deep_nesting: {"api/dos-deep-nesting"},
    denial_of_service.batching: {"api/dos-batching"},
    denial_of_service.nested_json: {"api/dos-nested-json"},
    denial_of_service.huge_body: {"api/dos-huge-body"},
    denial_of_service.chunked_body: {"api/dos-chunked-body"},
    denial_of_service.field_duplication: {"api/dos-field-duplication"},
    denial_of_service.fragment_fanout: {"api/dos-fragment-fanout"},
    exposure.introspection: {"api/exposure-introspection"},
    exposure.suggestions: {
        "api/exposure-suggestions-field",
        "api/exposure-suggestions-argument",
        "api/exposure-suggestions-type",
    },
    exposure.enum_suggestions: {"api/exposure-suggestions-enum-value"},
    exposure.error_leaks: {"api/exposure-error-leak"},
    exposure.tracing: {"api/exposure-tracing"},
    exposure.ide: {"api/exposure-ide"},
    exposure.get_operations: {"api/exposure-get-query", "api/exposure-get-mutation"},
    exposure.forgeable_bodies: {"api/exposure-csrf-content-type"},
    http_exposure.security_headers: {"api/exposure-security-headers"},
    http_exposure.cors: {"api/exposure-cors"},
    http_exposure.metrics: {"api/exposure-metrics"},
}
#: graphql-core refuses these itself (UniqueDirectivesPerLocation, MaxIntrospectionDepth): a
#: service on it can only fail them on time.
REFUSED_BY_GRAPHQL_CORE: dict[Probe, str] = {
    denial_of_service.directive_overloading: "api/dos-directives",
    denial_of_service.circular_introspection: "api/dos-circular-introspection",
}


def test_every_probe_of_the_families_is_covered() -> None:
    covered = {*EXPECTED, *REFUSED_BY_GRAPHQL_CORE}
    assert covered == {*denial_of_service.PROBES, *exposure.PROBES, *http_exposure.PROBES}


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_fails_on_the_vulnerable_service(vulnerable_api: ProbeTarget, probe: Probe) -> None:
    findings = probe(vulnerable_api)
    assert {f.probe for f in findings} == EXPECTED[probe]
    assert all(f.sent and f.received and f.fix for f in findings)


@pytest.mark.parametrize("probe", [*EXPECTED, *REFUSED_BY_GRAPHQL_CORE], ids=lambda p: p.__name__)
def test_probe_passes_on_the_hardened_service(hardened_api: ProbeTarget, probe: Probe) -> None:
    assert probe(hardened_api) == []


@pytest.mark.parametrize("probe", list(REFUSED_BY_GRAPHQL_CORE), ids=lambda p: p.__name__)
def test_a_slow_refusal_fails_the_time_oracle(hardened: ProbeTarget, probe: Probe) -> None:
    strict = ProbeTarget(base_url=hardened.base_url, budget_s=0.0)
    findings = probe(strict)
    assert [f.probe for f in findings] == [REFUSED_BY_GRAPHQL_CORE[probe]]
    # refused, but not within a budget of 0 s: the answer or the health check came too late
    assert "too slowly" in findings[0].message or "health check" in findings[0].message


def test_a_stalled_health_check_fails_a_quick_refusal(vulnerable: ProbeTarget) -> None:
    """The fan-out keeps the single-process fixture busy: /healthz waits behind it."""
    findings = denial_of_service.fragment_fanout(vulnerable)
    assert findings and "/healthz worst" in findings[0].received
