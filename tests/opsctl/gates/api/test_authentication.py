"""Authentication probes: each fails on the vulnerable fixture naming its id, passes hardened."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from opsctl.gates.api import authentication
from opsctl.gates.api.probe import ProbeFinding, ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.settings import Persona

from .conftest import with_settings

Probe = Callable[[ProbeTarget], list[ProbeFinding]]
EXPECTED: dict[Probe, str] = {
    authentication.missing_token: "api/auth-missing-token",
    authentication.tampered_signature: "api/auth-tampered-signature",
    authentication.alg_none: "api/auth-alg-none",
    authentication.algorithm_switch: "api/auth-algorithm-switch",
    authentication.expired: "api/auth-expired",
    authentication.wrong_audience: "api/auth-wrong-audience",
    authentication.wrong_issuer: "api/auth-wrong-issuer",
    authentication.refresh_reuse: "api/auth-refresh-reuse",
    authentication.after_logout: "api/auth-after-logout",
}


def test_every_probe_of_the_family_is_covered() -> None:
    assert set(EXPECTED) == set(authentication.PROBES)


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_fails_on_the_vulnerable_service(vulnerable_api: ProbeTarget, probe: Probe) -> None:
    findings = probe(vulnerable_api)
    assert {f.probe for f in findings} == {EXPECTED[probe]}
    assert all(f.sent and f.received and f.fix for f in findings)


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_passes_on_the_hardened_service(hardened_api: ProbeTarget, probe: Probe) -> None:
    assert probe(hardened_api) == []


@pytest.mark.parametrize("probe", list(EXPECTED), ids=lambda p: p.__name__)
def test_probe_does_not_run_without_a_log_in_flow(hardened: ProbeTarget, probe: Probe) -> None:
    with pytest.raises(ProbeNotRun, match=r"api\.login"):
        probe(with_settings(hardened, login=None))


def test_a_wrong_persona_password_is_incomplete_and_names_the_email(
    hardened: ProbeTarget,
) -> None:
    wrong = Persona(email="alice@tenant-a.example", password="not-her-password", tenant="a")
    with pytest.raises(ProbeIncomplete, match=re.escape("alice@tenant-a.example")) as raised:
        authentication.expired(with_settings(hardened, personas=[wrong]))
    assert "not-her-password" not in str(raised.value)


def test_the_vulnerable_service_shows_the_signature_free_forgeries(
    vulnerable_api: ProbeTarget,
) -> None:
    findings = authentication.alg_none(vulnerable_api)
    assert len(findings) == 4  # every spelling of "none" got data
    assert all(f.curl.startswith("curl") and "<signature" not in f.curl for f in findings)
    tampered = authentication.tampered_signature(vulnerable_api)
    flipped = next(f for f in tampered if "bit flipped" in f.message)
    assert "<signature of a fresh token>" in flipped.curl  # a near-valid token is never printed


def test_reports_carry_no_live_token(vulnerable_api: ProbeTarget) -> None:
    [finding] = authentication.refresh_reuse(vulnerable_api)
    assert "eyJ" not in finding.received  # the refreshed access token, masked
    assert '"refreshToken":"<token>"' in finding.received
