"""The YAML loader: variable expansion, line numbers, duplicate keys, discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.config.loader import load_yaml_model
from opsctl.config.models import ProjectConfig
from opsctl.config.project import find_config_file, get_environment, load_project
from opsctl.errors import ConfigError, MissingVariableError, UsageError

CONFIG = """\
service:
  name: ${SERVICE_NAME:-shop}
environments:
  local:
    url: http://127.0.0.1:${PORT:-8000}
    database_url: ${DATABASE_URL}
    redis_url: ${REDIS_URL:-}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "opsctl.yaml"
    path.write_text(text)
    return path


def test_variables_expand_with_defaults(tmp_path: Path) -> None:
    config = load_yaml_model(
        _write(tmp_path, CONFIG), ProjectConfig, environ={"DATABASE_URL": "embedded", "PORT": "9"}
    )

    assert config.service.name == "shop"
    local = config.environments["local"]
    assert local.url == "http://127.0.0.1:9"
    assert local.uses_embedded_database
    assert local.redis_url is not None and local.redis_url.get_secret_value() == ""


def test_empty_variable_takes_the_default(tmp_path: Path) -> None:
    config = load_yaml_model(
        _write(tmp_path, CONFIG), ProjectConfig, environ={"DATABASE_URL": "embedded", "PORT": ""}
    )

    assert config.environments["local"].url == "http://127.0.0.1:8000"


def test_missing_variable_names_it_with_file_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG)

    with pytest.raises(MissingVariableError) as raised:
        load_yaml_model(path, ProjectConfig, environ={})

    error = raised.value
    assert (error.file, error.line, error.key) == (str(path), 6, "environments.local.database_url")
    assert "DATABASE_URL is not set" in str(error)


def test_double_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    path = _write(tmp_path, "service:\n  name: a$${NOT_A_VARIABLE}\n")

    assert load_yaml_model(path, ProjectConfig, environ={}).service.name == "a${NOT_A_VARIABLE}"


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "service:\n  name: a\nservice:\n  name: b\n")

    with pytest.raises(ConfigError) as raised:
        load_yaml_model(path, ProjectConfig, environ={})

    assert (raised.value.line, raised.value.key) == (3, "service")


def test_several_problems_say_how_many_more(tmp_path: Path) -> None:
    path = _write(tmp_path, "service:\n  name: a\n  sorce: x\n  tests: 5\n")

    with pytest.raises(ConfigError, match=r"and 1 more problem"):
        load_yaml_model(path, ProjectConfig, environ={})


def test_found_in_a_parent_folder(tmp_path: Path) -> None:
    path = _write(tmp_path, "service:\n  name: shop\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)

    assert find_config_file(deep) == path
    assert load_project(cwd=deep, environ={}).root == tmp_path


def test_unknown_environment_lists_the_known(tmp_path: Path) -> None:
    project = load_project(_write(tmp_path, CONFIG), environ={"DATABASE_URL": "embedded"})

    with pytest.raises(UsageError, match=r"unknown environment 'qa'.*local"):
        get_environment(project, "qa")


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = _write(tmp_path, "\n".join(levels) + "\n")

    with pytest.raises(ConfigError, match="aliases expanding"):
        load_yaml_model(path, ProjectConfig, environ={})


def test_config_may_name_the_folder(tmp_path: Path) -> None:
    _write(tmp_path, "service:\n  name: shop\n")

    assert load_project(tmp_path, environ={}).config.service.name == "shop"
