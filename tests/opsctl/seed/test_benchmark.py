"""A short run of ``benchmarks/seed_speed.py``: every figure docs/seed.md quotes is printed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from tests.opsctl.seed.helpers import REPOSITORY

BENCHMARK = REPOSITORY / "benchmarks" / "seed_speed.py"
PGBENCH = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which(PGBENCH), reason="pgbench is not installed")
def test_benchmark_prints_the_reference_ceiling_and_like_for_like_ratios(
    postgres_server_url: str,
) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--rows", "20000", "--server", postgres_server_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPOSITORY,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert re.search(r"ratio seed/pgbench: \d+\.\d\d \(target >= 0\.5\)", out), out
    assert re.search(r"server only .* ratio \d+\.\d\d is the ceiling here", out), out
    # pgbench -i -s 1 and the engine on pgbench's own schema: the same 100,011 rows
    assert re.search(r"pgbench -i +100,011 rows", out), out
    assert re.search(r"like for like +100,011 rows .* ratio \d+\.\d\d \(target >= 0\.5\)", out)
    assert re.search(r"like-for-like linearity: .* cost per row ratio \d+\.\d\d", out), out
    assert re.search(r"^linearity: .* cost per row ratio \d+\.\d\d", out, re.M), out
