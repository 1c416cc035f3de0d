"""The reference API, started as its Definition of Done says (production mode), survives the
whole api gate: every family runs and finds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.api.gate import ApiGate
from opsctl.gates.api.settings import FAMILIES
from opsctl.gates.interface import GateContext, Severity, Status

REPOSITORY = Path(__file__).resolve().parents[4]


def test_the_reference_api_passes_its_api_gate(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_server_url)
    project = load_project(REPOSITORY / "opsctl.yaml")
    definition_of_done = load_definition_of_done(project)
    context = GateContext(
        project=project,
        definition_of_done=definition_of_done,
        environment_name="local",
        environment=get_environment(project, "local"),
    )
    result = ApiGate().run(context)
    failing = [f for f in result.findings if f.severity is Severity.ERROR and not f.accepted]
    assert result.status is Status.PASSED, (failing, result.reasons)
    assert set(result.details["family_seconds"]) == set(FAMILIES)
    assert result.details["not_run"] == {}
    assert result.measurements[0].value is not None and result.measurements[0].value >= 35
