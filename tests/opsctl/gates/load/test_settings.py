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


def _section(**keys: object) -> LoadSettings:
    slas = [{"match": {"tag": "simple"}, "p95_ms": 200}]
    return LoadSettings.model_validate({"scenario": "s.py", "rate": 10, "slas": slas, **keys})


def test_workers_from_elsewhere_add_to_the_local_ones() -> None:
    section = _section(workers=0, expect_workers=3, expect_workers_max_wait="2m")
    assert section.generators == 3
    assert section.expect_workers_max_wait == 120.0
    assert section.master_bind is None  # loopback, decided by the launcher
    assert _section(remote_workers=2).expect_workers == 2  # the key's old name still reads


def test_no_worker_at_all_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="workers: 0 needs expect_workers"):
        _section(workers=0)


@pytest.mark.parametrize("bind", ["0.0.0.0:5557", "10.0.0.7:6000", "[::1]:5557", ":5557"])
def test_master_bind_is_host_and_port(bind: str) -> None:
    assert _section(master_bind=bind).master_bind == bind


@pytest.mark.parametrize("bind", ["5557", "host", "a b:1", "host:port"])
def test_a_master_bind_without_a_port_is_refused(bind: str) -> None:
    with pytest.raises(ValueError, match="master_bind"):
        _section(master_bind=bind)
