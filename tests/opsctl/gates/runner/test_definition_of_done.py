"""checks/definition-of-done.yaml: optional sections, unknown ones refused, variables expanded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from opsctl.config.models import LoadedProject, ProjectConfig, ServiceConfig
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError

REPOSITORY = Path(__file__).resolve().parents[4]


def project_with(tmp_path: Path, text: str) -> LoadedProject:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(text, encoding="utf-8")
    return LoadedProject(
        config=ProjectConfig(service=ServiceConfig(name="svc")), path=tmp_path / "opsctl.yaml"
    )


def test_every_section_is_optional(tmp_path: Path) -> None:
    dod = load_definition_of_done(project_with(tmp_path, "security: {}\n"))
    assert dod.sections() == ["security"]
    assert dod.coverage is None and dod.security is not None
    assert dod.security.bandit.severity == "low" and dod.security.accepted == []


def test_an_unknown_section_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(project_with(tmp_path, "coverage: {}\nsecurty: {}\n"))
    assert "checks/definition-of-done.yaml:2: securty: unknown key" in str(error.value)
    assert "did you mean 'security'?" in str(error.value)


def test_a_section_present_but_empty_is_an_error_not_a_gate_turned_off(tmp_path: Path) -> None:
    # every key commented out leaves YAML null: the gate would vanish without a trace
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(project_with(tmp_path, "coverage:\n  # total: 80\nsecurity: {}\n"))
    message = str(error.value)
    assert message.startswith("checks/definition-of-done.yaml:1: coverage: ")
    assert "present but empty" in message and "{} for the gate's defaults" in message


def test_an_unknown_section_is_reported_before_the_problems_after_it(tmp_path: Path) -> None:
    text = "coverage: {total: 80}\nload: {rate: fast}\nsecurty: {}\n"
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(project_with(tmp_path, text))
    assert str(error.value).startswith("checks/definition-of-done.yaml:3: securty: unknown key")
    assert "did you mean 'security'?" in str(error.value)


def test_a_threshold_above_100_names_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_definition_of_done(project_with(tmp_path, "coverage:\n  total: 101\n"))
    assert str(error.value).startswith("checks/definition-of-done.yaml:2: coverage.total:")


def test_the_reference_api_definition_of_done_loads_with_and_without_ci_variables() -> None:
    project = LoadedProject(
        config=ProjectConfig(service=ServiceConfig(name="reference-api")),
        path=REPOSITORY / "opsctl.yaml",
    )
    local = load_definition_of_done(project, environ={})
    assert local.security is not None and local.coverage is not None
    assert local.security.advisory_db is None  # empty: the online service
    assert local.security.max_advisory_age_days == 30
    ci = load_definition_of_done(
        project,
        environ={"OPSCTL_ADVISORY_DB": "/db", "OPSCTL_MAX_ADVISORY_AGE_DAYS": "1000"},
    )
    assert ci.security is not None
    assert (ci.security.advisory_db, ci.security.max_advisory_age_days) == ("/db", 1000)
    assert local.coverage.paths == {"src/reference_api/services/**": 90}
    assert all(entry.expires >= dt.date(2000, 1, 1) for entry in local.security.accepted)
