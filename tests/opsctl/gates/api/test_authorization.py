"""Authorization probes between tenants, on the vulnerable and the hardened fixture."""

from __future__ import annotations

import re
import uuid

import pytest

from opsctl.gates.api import authorization
from opsctl.gates.api.probe import ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.settings import Persona

from .conftest import PERSONAS, with_settings


def test_every_probe_of_the_family_is_covered() -> None:
    assert [
        authorization.cross_tenant_read,
        authorization.cross_tenant_write,
    ] == authorization.PROBES


def test_the_vulnerable_service_is_readable_across_tenants(vulnerable_api: ProbeTarget) -> None:
    findings = authorization.cross_tenant_read(vulnerable_api)
    by_probe = {f.probe: f for f in findings}
    assert set(by_probe) == {"api/authz-cross-tenant-read", "api/authz-existence-oracle"}
    read = by_probe["api/authz-cross-tenant-read"]
    assert "through project" in read.message and "alice@tenant-a.example" in read.message
    oracle = by_probe["api/authz-existence-oracle"]
    assert "workspace" in oracle.message and "FORBIDDEN" in oracle.message
    assert "NOT_FOUND" in oracle.message
    assert all("Bearer <token of bob@tenant-b.example>" in f.curl for f in findings)


def test_the_vulnerable_service_is_writable_across_tenants(vulnerable_api: ProbeTarget) -> None:
    findings = authorization.cross_tenant_write(vulnerable_api)
    assert {f.probe for f in findings} == {"api/authz-cross-tenant-write"}
    messages = " | ".join(f.message for f in findings)
    for mutation in ("createProject", "updateProject", "deleteProject"):
        assert f"ran {mutation}" in messages
    assert "changed" in messages and "is gone" in messages and "appeared" in messages


def test_a_fresh_account_stands_in_for_the_second_tenant(vulnerable_api: ProbeTarget) -> None:
    findings = authorization.cross_tenant_read(with_settings(vulnerable_api, personas=PERSONAS[:1]))
    assert {f.probe for f in findings} == {
        "api/authz-cross-tenant-read",
        "api/authz-existence-oracle",
    }
    assert all("a fresh account opsctl-probe-" in f.message for f in findings)


@pytest.mark.parametrize(
    "probe", authorization.PROBES, ids=lambda p: p.__name__
)  # the hardened fixture's SDL comes from api.schema_files (introspection is off)
def test_probe_passes_on_the_hardened_service(
    hardened_api: ProbeTarget, probe: authorization.Probe
) -> None:
    assert probe(hardened_api) == []


@pytest.mark.parametrize("probe", authorization.PROBES, ids=lambda p: p.__name__)
def test_probe_does_not_run_without_a_log_in_flow(
    hardened: ProbeTarget, probe: authorization.Probe
) -> None:
    with pytest.raises(ProbeNotRun, match=r"api\.login"):
        probe(with_settings(hardened, login=None))


def test_one_tenant_and_no_sign_up_does_not_run(hardened_api: ProbeTarget) -> None:
    assert hardened_api.settings is not None and hardened_api.settings.login is not None
    login = hardened_api.settings.login.model_copy(update={"sign_up": None})
    same = [PERSONAS[0], PERSONAS[0].model_copy(update={"email": "x@tenant-a.example"})]
    with pytest.raises(ProbeNotRun, match="different tenants"):
        authorization.cross_tenant_read(with_settings(hardened_api, login=login, personas=same))


def test_a_wrong_persona_password_is_incomplete_and_names_the_email(
    hardened: ProbeTarget,
) -> None:
    wrong = Persona(email="bob@tenant-b.example", password="not-his-password", tenant="b")
    with pytest.raises(ProbeIncomplete, match=re.escape("bob@tenant-b.example")) as raised:
        authorization.cross_tenant_read(with_settings(hardened, personas=[PERSONAS[0], wrong]))
    assert "not-his-password" not in str(raised.value)


@pytest.mark.parametrize(
    ("example", "shape"),
    [
        (str(uuid.uuid4()), r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"),
        ("1234", r"^\d{7,8}$"),
        ("UHJvamVjdDox", r"^[A-Za-z0-9+/=]+$"),  # base64 of Project:1, a Relay global ID
        ("prj_0a1b2c3d4e5f", r"^prj_[0-9a-f]{12}$"),
    ],
)
def test_a_random_id_has_the_shape_of_the_real_one(example: str, shape: str) -> None:

    fake = authorization.like(example)
    assert fake != example and re.match(shape, fake)
