"""Every example of docs/api-gate.md: the Definition of Done block loads, each command runs."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.config.project import load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.api.probe import ProbeTarget
from opsctl.gates.api.settings import ApiSettings

DOC = (Path(__file__).resolve().parents[4] / "docs" / "api-gate.md").read_text(encoding="utf-8")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_definition_of_done_example_is_valid(tmp_path: Path) -> None:
    (example,) = blocks("yaml")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(example, encoding="utf-8")
    (tmp_path / "opsctl.yaml").write_text(
        yaml.safe_dump(
            {"service": {"name": "docs"}, "environments": {"local": {"url": "http://x"}}}
        ),
        encoding="utf-8",
    )
    settings = load_definition_of_done(load_project(tmp_path / "opsctl.yaml")).api
    assert isinstance(settings, ApiSettings)
    assert settings.login is not None and settings.personas[0].password


@pytest.fixture
def docs_project(tmp_path: Path, vulnerable: ProbeTarget) -> Iterator[Path]:
    """Both environments the examples name point at the vulnerable fixture service."""
    (tmp_path / "checks").mkdir()
    environments = {name: {"url": vulnerable.base_url} for name in ("local", "staging")}
    (tmp_path / "opsctl.yaml").write_text(
        yaml.safe_dump({"service": {"name": "docs"}, "environments": environments}),
        encoding="utf-8",
    )
    dod = {"api": {"families": ["exposure"]}}
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(yaml.safe_dump(dod))
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


@pytest.mark.parametrize(
    "command",
    [line.removeprefix("$ ") for block in blocks("console") for line in block.splitlines()],
)
def test_each_command_example_runs(docs_project: Path, command: str) -> None:
    args = shlex.split(command)
    assert args[0] == "opsctl"
    result = CliRunner().invoke(app, args[1:])
    assert result.exit_code == 1, result.output  # the vulnerable fixture fails
    assert "api/exposure-introspection" in result.output
    if "--sarif" in args:
        assert (docs_project / args[args.index("--sarif") + 1]).is_file()
