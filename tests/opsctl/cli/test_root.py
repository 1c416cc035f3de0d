"""The root command: global options, --version, help with examples, exit codes, completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from tests.opsctl.cli.helpers import CONFIG_FIXTURES, LOCAL_SERVICE, free_port, invoke, run_opsctl

from opsctl import __version__
from opsctl.cli import app

VALID = str(CONFIG_FIXTURES / "valid" / "opsctl.yaml")
SERVICE = str(LOCAL_SERVICE / "opsctl.yaml")
OPSCTL = str(Path(sys.executable).parent / "opsctl")  # the console script: completion keys on it


def test_version() -> None:
    result = invoke(["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"opsctl {__version__}\n"


def test_version_as_a_process() -> None:
    completed = run_opsctl(["--version"])

    assert completed.returncode == 0
    assert completed.stdout.strip() == f"opsctl {__version__}"


def _all_command_paths() -> list[list[str]]:
    """Every command and group of the CLI, as argument lists (other groups' too)."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(command: object, prefix: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p) or "opsctl")
def test_every_help_ends_with_an_example(path: list[str]) -> None:
    result = invoke([*path, "--help"])

    assert result.exit_code == 0
    assert "Example: opsctl" in result.stdout


def test_no_arguments_shows_help() -> None:
    result = invoke([])

    assert result.exit_code in (0, 2)  # Typer's no_args_is_help exits 2 as click does
    assert "Usage: opsctl" in result.output


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    completed = run_opsctl(["frobnicate"])

    assert completed.returncode == 2
    assert "No such command 'frobnicate'" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    result = invoke(["--config", VALID, "env", "check", "local", "--timeout", "soon"])

    assert result.exit_code == 2
    assert "Invalid value for '--timeout'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unexpected_exception_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.environments import listing

    def broken(*_args: object) -> None:
        raise RuntimeError("boom: postgresql://app:topsecret@db/app")

    monkeypatch.setattr(listing.EnvironmentList, "__rich_console__", broken)
    result = invoke(["--config", VALID, "env", "list"])

    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "unexpected error: RuntimeError: boom: postgresql://app:***@db/app",
        "  hint: run with --verbose for the traceback",
    ]


def test_unexpected_exception_with_verbose_shows_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opsctl.environments import listing

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(listing.EnvironmentList, "__rich_console__", broken)
    result = invoke(["--verbose", "--config", VALID, "env", "list"])

    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert "unexpected error: RuntimeError: boom" in result.stderr


def test_keyboard_interrupt_is_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.environments import listing

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(listing.EnvironmentList, "__rich_console__", interrupted)
    result = invoke(["--config", VALID, "env", "list"])

    assert result.exit_code == 3
    assert result.stderr.startswith("interrupted:")


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--no-color"], {}), ([], {"NO_COLOR": "1"})],
    ids=["--no-color", "NO_COLOR"],
)
def test_no_color(args: list[str], env: dict[str, str]) -> None:
    command = ["--config", SERVICE, "env", "check", "local", "--timeout", "0.5"]
    closed = {"FORCE_COLOR": "1", "FIXTURE_PORT": str(free_port())}
    result = invoke([*args, *command], env={**closed, **env})

    assert result.exit_code == 3
    assert "local: unhealthy" in result.stdout
    assert "\x1b[" not in result.output
    coloured = invoke(command, env=closed)
    assert "\x1b[" in coloured.output


def test_quiet_hides_progress_notes_not_results() -> None:
    loud = invoke(["--config", VALID, "config", "show"])
    quiet = invoke(["--quiet", "--config", VALID, "config", "show"])

    assert loud.stderr.startswith("# ")
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


def test_config_found_upwards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(LOCAL_SERVICE / "migrations" / "versions")
    result = invoke(["config", "show"])

    assert result.exit_code == 0
    assert "name: fixture-service" in result.stdout


def test_no_config_anywhere(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    result = invoke(["env", "list"])

    assert result.exit_code == 2
    assert "no opsctl.yaml in / or any parent folder" in result.stderr
    assert "--config PATH" in result.stderr


def test_shell_completion_of_environment_names() -> None:
    completed = subprocess.run(
        [OPSCTL],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={
            **os.environ,
            "_OPSCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": f"opsctl --config {VALID} env check st",
            "COMP_CWORD": "5",
        },
    )

    assert completed.stdout.split() == ["staging"]


def test_shell_completion_of_commands() -> None:
    completed = subprocess.run(
        [OPSCTL],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={
            **os.environ,
            "_OPSCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": "opsctl d",
            "COMP_CWORD": "1",
        },
    )

    assert "db" in completed.stdout.split()


def test_fast_root_help_is_the_full_apps_help() -> None:
    fast = run_opsctl(["--help"])  # main() answers it from stubs (see _root_help_app)
    full = subprocess.run(
        [sys.executable, "-c", "from opsctl.cli import app; app(prog_name='opsctl')", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )

    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout
    assert "verify" in fast.stdout and "config" in fast.stdout
