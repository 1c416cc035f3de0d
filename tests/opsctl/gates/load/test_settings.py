"""The load section of the Definition of Done: durations, SLA matches, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.config.durations import parse_duration
from opsctl.config.project import load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError
from opsctl.gates.load.settings import LoadSettings


@pytest.mark.parametrize(
    ("text", "seconds"), [("10s", 10.0), ("500ms", 0.5), ("2m", 120.0), (3, 3.0), ("1.5s", 1.5)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_the_reference_api_definition_of_done_has_a_valid_load_section() -> None:
    root = Path(__file__).resolve().parents[4]
    section = load_definition_of_done(load_project(root / "opsctl.yaml")).load
    assert isinstance(section, LoadSettings)
    assert (root / section.scenario).is_file()


def test_an_sla_with_both_tag_and_operation_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "opsctl.yaml").write_text("service: {name: x}\n", encoding="utf-8")
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(
        "load:\n"
        "  scenario: s.py\n"
        "  rate: 10\n"
        "  slas:\n"
        "    - {match: {tag: simple, operation: Me}, p95_ms: 200}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_definition_of_done(load_project(tmp_path / "opsctl.yaml"))
    message = str(caught.value)
    assert "definition-of-done.yaml:5" in message
    assert "exactly one of 'tag' or 'operation'" in message


def test_a_bad_duration_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "opsctl.yaml").write_text("service: {name: x}\n", encoding="utf-8")
    (tmp_path / "checks" / "definition-of-done.yaml").write_text(
        "load:\n  scenario: s.py\n  rate: 10\n  warmup: soon\n"
        "  slas: [{match: {tag: simple}, p95_ms: 200}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"definition-of-done.yaml:4.*warmup"):
        load_definition_of_done(load_project(tmp_path / "opsctl.yaml"))
