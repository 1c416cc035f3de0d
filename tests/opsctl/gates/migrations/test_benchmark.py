"""The benchmark's generated chain is a valid, passing project (a short run of the script)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[4] / "benchmarks" / "migrations_gate.py"


@pytest.mark.slow
def test_benchmark_runs_both_and_prints_the_ratio(postgres_server_url: str) -> None:
    arguments = ["--revisions", "3", "--repeat", "1", "--server", postgres_server_url]
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "opsctl migrations gate:" in completed.stdout
    assert "-> passed (3 revisions: reversible, safe, in step with the models)" in completed.stdout
    assert re.search(r"ratio opsctl / pytest-alembic: \d+\.\d\d", completed.stdout)
