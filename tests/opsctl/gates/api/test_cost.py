"""Cost probes: each fails on the vulnerable fixture naming its id, passes on the hardened one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from opsctl.gates.api import cost
from opsctl.gates.api.probe import ProbeFinding, ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.settings import Persona

from .conftest import _serve, with_settings

Probe = Callable[[ProbeTarget], list[ProbeFinding]]
EXPECTED: dict[Probe, str] = {
    cost.aliased_password_hash: "api/cost-aliased-password-hash",
    cost.brute_force_account: "api/brute-force-account",
    cost.brute_force_address: "api/brute-force-address",
    cost.forwarded_headers: "api/rate-limit-forwarded-headers",
}


def test_every_probe_of_the_family_is_covered() -> None:
    assert set(EXPECTED) == set(cost.PROBES)


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


def test_the_aliased_sign_ups_are_counted(vulnerable_api: ProbeTarget) -> None:
    [finding] = cost.aliased_password_hash(vulnerable_api)
    assert finding.message.startswith(f"{cost.HASH_ALIASES} of {cost.HASH_ALIASES} aliased signUp")
    assert "Opsctl-" not in finding.curl  # the fresh accounts' passwords stay out of reports


def test_aliased_log_ins_when_there_is_no_sign_up(vulnerable_api: ProbeTarget) -> None:
    assert vulnerable_api.settings is not None and vulnerable_api.settings.login is not None
    no_sign_up = vulnerable_api.settings.login.model_copy(update={"sign_up": None})
    [finding] = cost.aliased_password_hash(with_settings(vulnerable_api, login=no_sign_up))
    assert "aliased logIn as alice@tenant-a.example" in finding.message
    assert "alice-password" not in finding.curl


@pytest.fixture
def fresh_vulnerable(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProbeTarget]:
    """A vulnerable service of its own, limiting 50 failures per claimed address."""
    monkeypatch.setenv("FIXTURE_ADDRESS_LIMIT", "50")
    for served in _serve("vulnerable"):
        yield with_settings(served, login_attempts=60)


def test_the_finding_names_the_one_header_that_bypassed(fresh_vulnerable: ProbeTarget) -> None:
    """The fixture limits 50 failures per address, the address from X-Forwarded-For.

    With 60 attempts the baseline is limited, X-Forwarded-For gets around it, Forwarded and
    X-Real-IP do not.
    """
    findings = cost.forwarded_headers(fresh_vulnerable)
    assert [f.message.split()[0] for f in findings] == ["X-Forwarded-For"]
    assert "were limited after 50" in findings[0].message


def test_a_wrong_persona_password_is_incomplete_and_names_the_email(
    hardened: ProbeTarget,
) -> None:
    wrong = Persona(email="alice@tenant-a.example", password="not-her-password", tenant="a")
    no_sign_up = {"sign_up": None}
    target = with_settings(hardened, personas=[wrong])
    assert target.settings is not None and target.settings.login is not None
    target = with_settings(hardened, personas=[wrong], login=target.settings.login.model_copy(
        update=no_sign_up))  # fmt: skip
    with pytest.raises(ProbeIncomplete, match=re.escape("alice@tenant-a.example")) as raised:
        cost.aliased_password_hash(target)
    assert "not-her-password" not in str(raised.value)


def test_aliasing_suffixes_each_alias_s_variables() -> None:
    from graphql import parse

    document = "mutation($email: String!) { logIn(input: {email: $email}) { accessToken } }"
    query = cost.aliased(document, 3)
    parse(query)  # a valid document
    assert "$email_0: String!, $email_1: String!, $email_2: String!" in query
    assert "a2: logIn(input: { email: $email_2 })" in query
