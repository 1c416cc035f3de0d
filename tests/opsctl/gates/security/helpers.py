"""Running the security gate on a copy of a fixture project (shared by the gate's tests)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.interface import GateContext, GateResult
from opsctl.gates.security.gate import SecurityGate

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "security"


def copy_fixture(case: str, tmp_path: Path) -> Path:
    """The fixture project ``case`` under ``tmp_path``, with the fixture advisory database."""
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target)
    shutil.copytree(FIXTURES / "advisories", target / "advisories")
    return target


def run_root(root: Path, today: dt.date | None = None) -> GateResult:
    project = load_project(root / "opsctl.yaml")
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="local",
        environment=get_environment(project, "local"),
        options={"today": today} if today else {},
    )
    return SecurityGate().run(context)


def run_gate(case: str, tmp_path: Path, today: dt.date | None = None) -> GateResult:
    return run_root(copy_fixture(case, tmp_path), today)
