"""Running a project's Alembic environment: imports are made and then forgotten, paths resolved."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from opsctl.errors import ConfigError
from opsctl.gates.migrations.alembic_env import AlembicProject, project_imports


def test_project_modules_are_forgotten_but_installed_ones_stay(tmp_path: Path) -> None:
    (tmp_path / "only_here_pkg.py").write_text("VALUE = 1\n")

    with project_imports(tmp_path, []):
        import only_here_pkg  # type: ignore[import-not-found]  # noqa: F401

        import opsctl.gates.migrations.drift  # noqa: F401  (already importable)

    assert "only_here_pkg" not in sys.modules
    assert str(tmp_path) not in sys.path
    assert "opsctl.gates.migrations.drift" in sys.modules


def test_relative_script_location_is_resolved_against_alembic_ini(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = db/migrations\nprepend_sys_path = src\n"
    )

    project = AlembicProject(tmp_path / "alembic.ini")

    assert project.versions_dir == tmp_path.resolve() / "db" / "migrations" / "versions"
    assert project.sys_paths == [tmp_path.resolve() / "src"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "alembic.ini: Alembic config file not found"),
        ("[alembic]\nsqlalchemy.url = x\n", "alembic.ini: script_location: no script_location"),
    ],
)
def test_bad_alembic_ini_is_a_config_error(tmp_path: Path, text: str | None, message: str) -> None:
    if text is not None:
        (tmp_path / "alembic.ini").write_text(text)

    with pytest.raises(ConfigError) as caught:
        AlembicProject(tmp_path / "alembic.ini")

    assert str(caught.value).endswith(message)
