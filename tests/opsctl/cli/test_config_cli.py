"""``opsctl config show`` (resolved, masked) and ``opsctl config schema``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from tests.opsctl.cli.helpers import CONFIG_FIXTURES, REPOSITORY_ROOT, invoke

VALID = str(CONFIG_FIXTURES / "valid" / "opsctl.yaml")
SECRETS = ("staging-secret", "redis-secret", "prod-secret", "s3cr3t-from-env")


def test_show_prints_resolved_yaml_with_secrets_masked() -> None:
    result = invoke(
        ["--config", VALID, "config", "show"],
        env={"DATABASE_URL": "postgresql://dev:s3cr3t-from-env@127.0.0.1:5432/shop"},
    )

    assert result.exit_code == 0
    shown = yaml.safe_load(result.stdout)
    local = shown["environments"]["local"]
    assert local["database_url"] == "postgresql://dev:***@127.0.0.1:5432/shop"
    assert shown["environments"]["staging"]["redis_url"] == (
        "redis://:***@cache.staging.example.test:6379/0"
    )
    assert shown["environments"]["production"]["protected"] is True
    assert shown["service"]["tests"] == ["python", "-m", "pytest", "tests"]
    for secret in SECRETS:
        assert secret not in result.output


def test_show_keeps_the_embedded_keyword() -> None:
    result = invoke(["--config", VALID, "config", "show"])

    assert yaml.safe_load(result.stdout)["environments"]["local"]["database_url"] == "embedded"


def test_schema_of_both_files_validates_the_real_files() -> None:
    result = invoke(["config", "schema"])

    assert result.exit_code == 0
    schemas = json.loads(result.stdout)
    assert "opsctl.yaml" in schemas
    project_schema = schemas["opsctl.yaml"]
    jsonschema.Draft202012Validator.check_schema(project_schema)
    jsonschema.validate(yaml.safe_load(Path(VALID).read_text()), project_schema)
    jsonschema.validate(
        yaml.safe_load((REPOSITORY_ROOT / "opsctl.yaml").read_text()), project_schema
    )
    assert "environments" in project_schema["properties"]
    if "definition-of-done.yaml" in schemas:
        jsonschema.Draft202012Validator.check_schema(schemas["definition-of-done.yaml"])


def test_schema_rejects_unknown_keys_like_opsctl_does() -> None:
    schema = json.loads(invoke(["config", "schema", "opsctl.yaml"]).stdout)
    broken = yaml.safe_load((CONFIG_FIXTURES / "broken" / "unknown_key.yaml").read_text())

    with pytest.raises(jsonschema.ValidationError, match="sorce"):
        jsonschema.validate(broken, schema)


def test_schema_written_to_a_folder(tmp_path: Path) -> None:
    result = invoke(["config", "schema", "--output-dir", str(tmp_path)])

    assert result.exit_code == 0
    written = json.loads((tmp_path / "opsctl.schema.json").read_text())
    assert written["title"] == "ProjectConfig"


def test_schema_of_an_unknown_file_is_a_usage_error() -> None:
    result = invoke(["config", "schema", "nginx.conf"])

    assert result.exit_code == 2
    assert "no schema for 'nginx.conf'" in result.stderr
    assert "opsctl.yaml" in result.stderr


def _project(tmp_path: Path, definition_of_done: str) -> str:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(definition_of_done)
    (tmp_path / "opsctl.yaml").write_text(
        "service: {name: svc}\nenvironments:\n  local: {url: 'http://127.0.0.1:9'}\n"
    )
    return str(tmp_path / "opsctl.yaml")


def test_check_validates_opsctl_yaml_and_the_definition_of_done_together(tmp_path: Path) -> None:
    config = _project(tmp_path, "security: {}\nmigrations: {}\n")
    result = invoke(["--config", config, "config", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "opsctl.yaml: valid (service svc, environments: local)",
        "checks/definition-of-done.yaml: valid (gates: security, migrations)",
    ]


def test_check_and_show_refuse_a_broken_definition_of_done(tmp_path: Path) -> None:
    config = _project(tmp_path, "coverage: {total: 80}\nsecurty: {}\n")
    for command in (["config", "check"], ["config", "show"]):
        result = invoke(["--config", config, *command])
        assert result.exit_code == 2, result.output
        assert "checks/definition-of-done.yaml:2: securty: unknown key" in result.output
        assert "Traceback" not in result.output


def test_show_prints_the_resolved_definition_of_done_on_request(tmp_path: Path) -> None:
    config = _project(tmp_path, "coverage: {total: 80}\n")
    result = invoke(["--config", config, "config", "show", "--definition-of-done"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["coverage"]["total"] == 80 and shown["security"] is None


def test_service_env_values_from_the_environment_are_secrets_everywhere(tmp_path: Path) -> None:
    from opsctl.config.project import get_environment, load_project
    from opsctl.reports.interface import environment_masker

    (tmp_path / "opsctl.yaml").write_text(
        "service:\n  name: svc\n  env:\n    SECRET_KEY: ${DEMO_SECRET}\n    APP_MODE: testing\n"
        "environments:\n  local: {url: 'http://127.0.0.1:9'}\n"
    )
    env = {"DEMO_SECRET": "s3cr3t-from-env-42"}
    result = invoke(["--config", str(tmp_path / "opsctl.yaml"), "config", "show"], env=env)
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)["service"]["env"]
    assert shown == {"SECRET_KEY": "***", "APP_MODE": "testing"}  # written in the file: shown
    assert "s3cr3t-from-env-42" not in result.output
    project = load_project(tmp_path / "opsctl.yaml", environ=env)
    masker = environment_masker(get_environment(project, "local"), project.secret_values)
    assert masker.text("a test printed s3cr3t-from-env-42") == "a test printed ***"
