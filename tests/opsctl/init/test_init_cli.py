"""`opsctl init` as a user runs it: what it writes, what a second run says, what it refuses."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.opsctl.init.services import copy_service, opsctl

from opsctl.errors import ExitCode


def test_init_writes_valid_files_and_a_second_run_has_nothing_to_write(tmp_path: Path) -> None:
    root = copy_service("flask_sqlalchemy", tmp_path)
    first = opsctl(["init", "--yes", "--ci", "github"], cwd=root)
    assert first.returncode == 0, first.stderr
    written = {
        "opsctl.yaml",
        "checks/definition-of-done.yaml",
        "loadtests/notes.py",
        ".github/workflows/opsctl.yml",
    }
    for name in written:
        assert f"{name} (new)" in first.stdout
        assert (root / name).is_file()
    # the files load with opsctl's own configuration command
    shown = opsctl(["config", "show"], cwd=root)
    assert shown.returncode == 0, shown.stderr
    workflow = yaml.safe_load((root / ".github/workflows/opsctl.yml").read_text())
    assert "opsctl verify" in str(workflow["jobs"]["verify"]["steps"])
    again = opsctl(["init", "--yes", "--ci", "github"], cwd=root)
    assert again.returncode == 0, again.stderr
    assert "Nothing to write" in again.stdout


def test_an_edited_file_is_shown_as_a_difference_and_kept_without_force(tmp_path: Path) -> None:
    root = copy_service("flask_sqlalchemy", tmp_path)
    assert opsctl(["init", "--yes"], cwd=root).returncode == 0
    done = root / "checks" / "definition-of-done.yaml"
    edited = done.read_text().replace("severity: medium", "severity: low")
    done.write_text(edited)
    again = opsctl(["init", "--yes"], cwd=root)
    assert again.returncode == ExitCode.USAGE
    assert "-  bandit: {severity: low, confidence: medium}" in again.stdout  # the diff
    assert again.stderr.startswith(
        "error: checks/definition-of-done.yaml: exists and differs from what `opsctl init`"
    )
    assert "Traceback" not in again.stderr
    assert done.read_text() == edited  # nothing written
    forced = opsctl(["init", "--yes", "--force"], cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert "severity: low" not in done.read_text()


def test_a_kept_coverage_floor_is_not_lowered_by_a_second_run(tmp_path: Path) -> None:
    root = copy_service("flask_sqlalchemy", tmp_path)
    assert opsctl(["init", "--yes"], cwd=root).returncode == 0
    done = root / "checks" / "definition-of-done.yaml"
    done.write_text(done.read_text().replace("total: null", "total: 91"))
    assert opsctl(["init", "--yes", "--force"], cwd=root).returncode == 0
    assert "  total: 91\n" in done.read_text()


def test_dry_run_writes_nothing_and_unknown_ci_is_a_usage_error(tmp_path: Path) -> None:
    root = copy_service("fastapi_sqlmodel", tmp_path)
    dry = opsctl(["init", "--yes", "--dry-run"], cwd=root)
    assert dry.returncode == 0, dry.stderr
    assert "opsctl.yaml: new" in dry.stdout and "Dry run: nothing written." in dry.stdout
    assert not (root / "opsctl.yaml").exists()
    bad = opsctl(["init", "--yes", "--ci", "jenkins"], cwd=root)
    assert bad.returncode == ExitCode.USAGE
    assert "--ci jenkins: expected one of github, gitlab" in bad.stderr
    assert not (root / "opsctl.yaml").exists()


def test_an_empty_repository_says_what_it_could_not_decide(tmp_path: Path) -> None:
    done = opsctl(["init", "--yes", "--dry-run"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "decide no lock file" in done.stdout
    assert "decide no tests found" in done.stdout
    assert "decide no FastAPI, Starlette or Flask app found" in done.stdout
