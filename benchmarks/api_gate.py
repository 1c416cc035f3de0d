"""How long ``opsctl verify api`` takes on the reference API, per probe family.

Runs the api gate as ``opsctl verify api`` does on ``local`` (a throwaway database, migrations,
the seed, the service with the Definition of Done's production settings), ``--runs`` times, and
prints each family's seconds, the whole gate's, and each as a ratio to a baseline measured in
the same run against the same service (the gate's own baseline: the median of plain
``{ __typename }`` requests before the probes), so a slower machine moves both sides.
The issue's bound is the whole gate under 60 s here.

Bounded: loopback only, at most 5 runs.

Run: .venv/bin/python benchmarks/api_gate.py --runs 1
(``DATABASE_URL`` unset: the embedded PostgreSQL, as on a fresh machine.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.api.gate import ApiGate
from opsctl.gates.interface import GateContext

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
MAX_RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    arguments = parser.parse_args()
    runs = max(1, min(arguments.runs, MAX_RUNS))
    project = load_project(REPOSITORY_ROOT / "opsctl.yaml")
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project),
        environment_name="local",
        environment=get_environment(project, "local"),
        progress=lambda message: print(f"  {message}", flush=True),
    )
    gate = ApiGate()
    for run in range(1, runs + 1):
        started = time.perf_counter()
        result = gate.run(context)
        total = time.perf_counter() - started
        baseline = result.details.get("baseline_request_s") or 0.0
        print(f"run {run}: {result.status.value} in {total:.1f}s — {result.summary}")
        for family, seconds in result.details["family_seconds"].items():
            ratio = f"{seconds / baseline:,.0f}× a plain request" if baseline else "n/a"
            print(f"  {family:<18} {seconds:6.2f}s  {ratio}")
        print(f"  {'whole gate':<18} {total:6.2f}s (service start-up and seed included)")
        if baseline:
            print(f"  baseline: one plain request {baseline * 1000:.1f} ms (median)")


if __name__ == "__main__":
    main()
