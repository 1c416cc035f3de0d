"""Fixture services on loopback, and throwaway projects with a load section in their DoD."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.interface import GateContext

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "load"


def _service_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_fixture_service", FIXTURES / "service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SERVICE = _service_module()


@pytest.fixture
def fixture_service() -> Iterator[Callable[..., Any]]:
    """Start a fixture service (``FixtureService`` keyword arguments); stopped after the test."""
    started: list[Any] = []

    def start(**options: Any) -> Any:
        service = SERVICE.FixtureService(**options).__enter__()
        started.append(service)
        return service

    yield start
    for service in started:
        service.__exit__(None, None, None)


def write_project(root: Path, url: str, load: dict[str, Any], *, protected: bool = False) -> Path:
    """A project whose 'fixture' environment points at ``url``; returns opsctl.yaml's path."""
    (root / "checks").mkdir(parents=True, exist_ok=True)
    config = {
        "service": {"name": "fixture-service"},
        "environments": {"fixture": {"url": url, "protected": protected}},
    }
    (root / "opsctl.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "checks" / "definition-of-done.yaml").write_text(
        yaml.safe_dump({"load": load}, sort_keys=False), encoding="utf-8"
    )
    return root / "opsctl.yaml"


def gate_context(config_path: Path, *, environment: str = "fixture") -> GateContext:
    project = load_project(config_path)
    return GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name=environment,
        environment=get_environment(project, environment),
        options={"reports_dir": str(config_path.parent / "reports")},
    )


def load_section(scenario: str, **overrides: Any) -> dict[str, Any]:
    """A short, low-rate load section for tests (about 5 s per run, loopback only)."""
    section: dict[str, Any] = {
        "scenario": str(FIXTURES / scenario),
        "rate": 60,
        "warmup": "1s",
        "duration": "3s",
        "min_samples": 30,
        "workers": 1,
        "drain_timeout": "5s",
        "slas": [{"match": {"tag": "simple"}, "p95_ms": 200, "max_error_rate": 0.01}],
    }
    section.update(overrides)
    return section
