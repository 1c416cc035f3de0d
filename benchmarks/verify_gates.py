"""Benchmark: `opsctl verify coverage security` against the same tools run by hand, in sequence.

Both run on the same tiny project (built from the test fixtures in a temporary folder), in this
one process, alternately, ``--rounds`` times; the medians are compared:

    ratio = opsctl verify --jobs N  /  hand sequence

Target: < 1.0 with ``--jobs 2`` (the two gates overlap), <= 1.10 with ``--jobs 1``.

Run: .venv/bin/python benchmarks/verify_gates.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.gates.security.advisories import AdvisoryDatabase
from opsctl.gates.security.osv_server import query_url, serve_osv

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "gates"


def build_project(root: Path) -> Path:
    project = root / "svc"
    shutil.copytree(FIXTURES / "coverage" / "below_path", project)
    shutil.copytree(FIXTURES / "security" / "advisories", project / "advisories")
    (project / "requirements.txt").write_text("requests==2.32.3\nidna==3.10\n")
    config = project / "opsctl.yaml"
    config.write_text(
        config.read_text().replace("tests:", "requirements: requirements.txt\n  tests:")
    )
    (project / "checks" / "definition-of-done.yaml").write_text(
        "coverage:\n  total: 50\n"
        "security:\n  bandit: {severity: low, confidence: medium}\n  advisory_db: advisories\n"
    )
    return project


def by_hand(project: Path) -> float:
    """What an engineer would run without opsctl: the same four tools, one after the other."""
    python = sys.executable
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data:
        steps = [
            [python, "-m", "coverage", "run", "--branch", f"--data-file={data}/.coverage",
             "--source=src/calc", "-m", "pytest", f"--junitxml={data}/junit.xml"],
            [python, "-m", "coverage", "json", f"--data-file={data}/.coverage",
             "-o", f"{data}/coverage.json"],
            [python, "-m", "bandit", "-r", "src/calc", "-f", "json", "-q"],
        ]  # fmt: skip
        for step in steps:
            subprocess.run(step, cwd=project, capture_output=True, check=False)
        with serve_osv(AdvisoryDatabase.open(project / "advisories")) as server:
            subprocess.run(
                [python, "-m", "pip_audit", "-r", "requirements.txt", "-f", "json",
                 "--progress-spinner", "off", "--disable-pip", "--no-deps",
                 "--cache-dir", f"{data}/cache", "-s", "osv", "--osv-url", query_url(server)],
                cwd=project, capture_output=True, check=False,
            )  # fmt: skip
    return time.perf_counter() - started


def with_opsctl(project: Path, jobs: int) -> float:
    started = time.perf_counter()
    result = CliRunner().invoke(
        app,
        ["--config", str(project / "opsctl.yaml"), "--quiet", "verify", "coverage", "security",
         "--jobs", str(jobs)],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"opsctl verify did not pass (exit {result.exit_code}):\n{result.output}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        project = build_project(Path(root))
        with_opsctl(project, 2)  # warm-up: imports, file caches
        times: dict[str, list[float]] = {"hand": [], "jobs1": [], "jobs2": []}
        for _ in range(args.rounds):
            times["hand"].append(by_hand(project))
            times["jobs1"].append(with_opsctl(project, 1))
            times["jobs2"].append(with_opsctl(project, 2))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"rounds: {args.rounds} (medians)")
    print(f"hand sequence         {median['hand']:.2f} s")
    for jobs, target in ((1, "<= 1.10"), (2, "< 1.00")):
        value = median[f"jobs{jobs}"]
        ratio = value / median["hand"]
        print(f"opsctl verify -j {jobs}    {value:.2f} s  ratio {ratio:.2f}  (target {target})")


if __name__ == "__main__":
    main()
