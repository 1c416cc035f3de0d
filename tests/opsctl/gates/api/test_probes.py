"""Every probe fails on the vulnerable fixture (naming its id) and passes on the hardened one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from opsctl.gates.api import denial_of_service, exposure
from opsctl.gates.api.probe import ProbeFinding, ProbeTarget

Probe = Callable[[ProbeTarget], list[ProbeFinding]]
EXPECTED: dict[Probe, set[str]] = {
    denial_of_service.alias_overloading: {"api/dos-aliases"},
    denial_of_service.deep_nesting: {"api/dos-deep-nesting"},
    denial_of_service.batching: {"api/dos-batching"},
    denial_of_service.nested_json: {"api/dos-nested-json"},
    denial_of_service.fragment_fanout: {"api/dos-fragment-fanout"},
    exposure.introspection: {"api/exposure-introspection"},
    exposure.suggestions: {
        "api/exposure-suggestions-field",
        "api/exposure-suggestions-argument",
        "api/exposure-suggestions-type",
    },
    exposure.error_leaks: {"api/exposure-error-leak"},
}


def test_every_probe_of_the_families_is_covered() -> None:
    assert set(EXPECTED) == {*denial_of_service.PROBES, *exposure.PROBES}


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_fails_on_the_vulnerable_service(vulnerable: ProbeTarget, probe: Probe) -> None:
    findings = probe(vulnerable)
    assert {f.probe for f in findings} == EXPECTED[probe]
    assert all(f.sent and f.received and f.fix for f in findings)


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_passes_on_the_hardened_service(hardened: ProbeTarget, probe: Probe) -> None:
    assert probe(hardened) == []


def test_a_slow_refusal_fails_the_time_oracle(hardened: ProbeTarget) -> None:
    strict = ProbeTarget(base_url=hardened.base_url, budget_s=0.0)
    findings = denial_of_service.alias_overloading(strict)
    assert [f.probe for f in findings] == ["api/dos-aliases"]
    assert "too slowly" in findings[0].message
