"""Plain Locust's lifecycle in opsctl's runs, and opsctl's scenarios under plain Locust.

``lifecycle.py`` writes a line for each hook it gets; its task sends two requests from
greenlets it spawns. Real processes: opsctl's master and two stock workers, or plain
``locust --headless`` with no opsctl in the command at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tests.opsctl.gates.load.conftest import FIXTURES, SERVICE

from opsctl.load.launcher import LoadPlan, run_generators

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


def test_an_opsctl_run_honours_every_hook_and_records_spawned_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "lifecycle.log"
    monkeypatch.setenv("LIFECYCLE_LOG", str(log))  # the master and workers inherit it
    with SERVICE.FixtureService() as service:
        plan = LoadPlan(
            scenario=FIXTURES / "lifecycle.py", host=service.url, rate=30, warmup_s=1,
            duration_s=2, workers=2, drain_timeout_s=5,
        )  # fmt: skip
        outcome = run_generators(plan)
    lines = Counter(log.read_text(encoding="utf-8").splitlines())
    for hook in ("init", "test_start", "test_stop", "quitting"):
        assert lines[f"{hook} MasterRunner"] == 1, lines
    for hook in ("init", "test_start", "test_stop", "quitting"):
        assert lines[f"{hook} WorkerRunner"] == 2, lines
    assert lines["on_start"] >= 2  # at least one user per worker
    assert lines["on_stop"] == lines["on_start"]  # every user stopped at the end
    data = outcome.data
    assert data.exceptions == {}
    assert data.scheduled == 60
    # both requests of every measured arrival, sent from the task's own greenlets
    assert data.operations["Fast"].count == 2 * data.scheduled
    assert data.empty_arrivals == 0


def test_a_scenario_still_runs_under_plain_locust(tmp_path: Path) -> None:
    log = tmp_path / "lifecycle.log"
    report = tmp_path / "stats.json"
    with SERVICE.FixtureService() as service:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(FIXTURES / "lifecycle.py"), "--headless",
             "-u", "2", "-r", "2", "-t", "2s", "--host", service.url,
             "--json-file", str(report.with_suffix(""))],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "LIFECYCLE_LOG": str(log)},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    stats = {entry["name"]: entry for entry in json.loads(report.read_text(encoding="utf-8"))}
    assert stats["Fast"]["num_requests"] > 10  # closed model, Locust's own report
    lines = Counter(log.read_text(encoding="utf-8").splitlines())
    assert lines["init LocalRunner"] == 1 and lines["test_start LocalRunner"] == 1


def test_the_reference_scenario_loads_under_plain_locust() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "reference_api.py"),
         "--list"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MobileUser" in done.stdout
