"""Every folder of tests/fixtures/trust: a hole that once passed must now fail or be incomplete."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TRUST = Path(__file__).resolve().parents[2] / "fixtures" / "trust"
CASES = sorted(path.name for path in TRUST.iterdir() if (path / "expect.yaml").is_file())

pytestmark = pytest.mark.slow


def test_every_case_states_a_verdict_that_is_not_passed() -> None:
    assert CASES, "no trust fixtures found"
    for case in CASES:
        expected = yaml.safe_load((TRUST / case / "expect.yaml").read_text())
        assert expected["status"] in ("failed", "incomplete"), case
        assert expected["messages"], case


@pytest.mark.parametrize("case", CASES)
def test_the_gate_no_longer_passes(case: str, tmp_path: Path, postgres_server_url: str) -> None:
    root = tmp_path / case
    shutil.copytree(TRUST / case, root, ignore=shutil.ignore_patterns("__pycache__"))
    expected = yaml.safe_load((root / "expect.yaml").read_text())
    report = tmp_path / "verify.json"
    done = subprocess.run(
        [sys.executable, "-m", "opsctl", "verify", expected["gate"], "--json", str(report)],
        cwd=root,
        env={**os.environ, "OPSCTL_DATABASE_URL": postgres_server_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    [gate] = json.loads(report.read_text())["gates"]
    assert (gate["status"], done.returncode) == (expected["status"], expected["exit_code"]), (
        done.stdout[-3000:]
    )
    said = json.dumps([gate.get("reasons"), gate.get("findings")])
    for message in expected["messages"]:
        assert message in said, (message, said[:3000])
