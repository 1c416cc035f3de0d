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
        assert expected["exit_code"] in (1, 2, 3), case
        if "gate" in expected:  # a gate's verdict; a run-level hole may end skipped, exit 3
            assert expected["status"] in ("failed", "incomplete", "skipped"), case
        assert expected["messages"], case


def case_environment(expected: dict[str, object]) -> dict[str, str]:
    """``env:`` of expect.yaml: variables the caller's shell had set when the hole showed."""
    env = expected.get("env") or {}
    assert isinstance(env, dict), "env: must be a mapping of variable names to values"
    return {str(name): str(value) for name, value in env.items()}


@pytest.mark.parametrize("case", CASES)
def test_the_gate_no_longer_passes(case: str, tmp_path: Path, postgres_server_url: str) -> None:
    root = tmp_path / case
    shutil.copytree(TRUST / case, root, ignore=shutil.ignore_patterns("__pycache__"))
    expected = yaml.safe_load((root / "expect.yaml").read_text())
    report = tmp_path / "verify.json"
    arguments = [str(arg) for arg in expected.get("command", [expected.get("gate")])]
    done = subprocess.run(
        [sys.executable, "-m", "opsctl", "verify", *arguments, "--json", str(report)],
        cwd=root,
        env={
            **os.environ,
            **case_environment(expected),
            "OPSCTL_DATABASE_URL": postgres_server_url,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == expected["exit_code"], done.stdout[-3000:] + done.stderr[-3000:]
    if "gate" not in expected:  # refused before any gate ran: the messages are on stderr
        assert not report.exists()
        said = done.stderr
    else:
        document = json.loads(report.read_text())
        [gate] = [g for g in document["gates"] if g["gate"] == expected["gate"]]
        assert gate["status"] == expected["status"], done.stdout[-3000:]
        said = json.dumps([gate.get("reasons"), gate.get("findings"), document["notes"]])
    for message in expected["messages"]:
        assert message in said, (message, said[:3000])
