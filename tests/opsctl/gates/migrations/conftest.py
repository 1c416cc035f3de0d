"""Fixture projects of the migrations gate, copied into a temporary folder and run for real."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.interface import GateContext, GateResult
from opsctl.gates.migrations.gate import MigrationsGate

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "migrations"

MakeProject = Callable[..., Path]
RunGate = Callable[..., GateResult]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """``make_project("case")``: ``_common`` with the case's files laid over it."""

    def make(case: str, **files: str) -> Path:
        root = tmp_path / case
        shutil.copytree(FIXTURES / "_common", root)
        case_dir = FIXTURES / case
        for source in sorted(case_dir.rglob("*")) if case_dir.is_dir() else []:
            if source.is_dir() or "__pycache__" in source.parts:
                continue
            relative = source.relative_to(case_dir)
            if relative.parts[0] == "versions":
                relative = Path("migrations") / relative
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / relative)
        for name, text in files.items():  # extra files, e.g. definition_of_done_yaml=...
            (root / name.replace("_yaml", ".yaml").replace("_", "-")).write_text(text)
        return root

    return make


@pytest.fixture
def run_gate(postgres_server_url: str) -> RunGate:
    """Run the gate on a project folder like ``opsctl verify migrations`` does."""

    def run(
        root: Path, *, database_url: str | None = None, cancelled: threading.Event | None = None
    ) -> GateResult:
        environ = {"FIXTURE_DATABASE_URL": database_url or postgres_server_url}
        project = load_project(root / "opsctl.yaml", environ=environ)
        context = GateContext(
            project=project,
            definition_of_done=load_definition_of_done(project, environ=environ),
            environment_name="local",
            environment=get_environment(project, "local"),
            cancelled=cancelled or threading.Event(),
        )
        return MigrationsGate().run(context)

    return run
