"""Helpers for opsctl's tests: run opsctl in-process (Typer's runner) or as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from opsctl.cli import app

REPOSITORY_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPOSITORY_ROOT / "tests" / "fixtures"
CONFIG_FIXTURES = FIXTURES / "config"
LOCAL_SERVICE = FIXTURES / "local_service"


def invoke(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``opsctl ARGS`` in-process; ``result.stdout`` / ``result.stderr`` are separate."""
    # wide enough that tables never fold the values the tests look for
    environment = {"COLUMNS": "200", **(env or {})}
    return CliRunner().invoke(app, args, env=environment, catch_exceptions=False)


def run_opsctl(
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``opsctl ARGS`` as a real process (``python -m opsctl``)."""
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
