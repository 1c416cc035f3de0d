"""How fast can one opsctl load generator go? Compared with wrk on the same endpoint, same run.

Starts a trivial HTTP endpoint (uvicorn, one process, raw ASGI), measures wrk's requests/s
against it, then searches the highest arrival rate one generator process sustains: achieved
rate >= 95 % of target, event-loop lag P99 <= 100 ms and P99 latency <= 50 ms (the same
validity rules the gate applies, plus a latency bound so that queueing inside the generator
does not count as "sustained"). Prints both and the ratio. The gate's ``max_rate_per_worker``
default (400/s) should stay well below the sustained rate measured here.

Run: .venv/bin/python benchmarks/load_generator.py [--seconds 4]
Needs wrk on PATH (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from trivial_endpoint import served  # benchmarks/, beside this script

from opsctl.load.launcher import LoadPlan, run_generators

APP = textwrap.dedent(
    """
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
    """
)
SCENARIO = textwrap.dedent(
    """
    from locust import FastHttpUser, task

    class Trivial(FastHttpUser):
        @task
        def trivial(self):
            self.client.get("/", name="trivial")
    """
)


def wrk_rate(url: str, seconds: int) -> float:
    output = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return float(match.group(1))


def sustains(scenario: Path, url: str, rate: float, seconds: float) -> tuple[bool, str]:
    data = run_generators(
        LoadPlan(scenario=scenario, host=url, rate=rate, warmup_s=1.0, duration_s=seconds)
    ).data
    stats = data.operations.get("trivial")
    p99 = (stats.percentile_ms(99) if stats else None) or float("inf")  # none succeeded: inf
    ok = data.achieved_rate >= 0.95 * rate and data.lag_p99_ms() <= 100 and p99 <= 50
    lag = data.lag_p99_ms()
    return ok, f"achieved {data.achieved_rate:.0f}/s, lag P99 {lag:.1f} ms, P99 {p99:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    with served(APP, SCENARIO) as (url, scenario):
        baseline = wrk_rate(url + "/", args.seconds)
        print(f"wrk (1 thread, 32 connections): {baseline:.0f} requests/s")
        best, rate = 0.0, 100.0
        while rate <= baseline * 1.5:
            ok, detail = sustains(scenario, url, rate, args.seconds)
            print(f"  opsctl generator at {rate:.0f}/s: {'sustained' if ok else 'NOT'} ({detail})")
            if not ok:
                break
            best, rate = rate, rate * 1.5
        print(f"opsctl generator (1 process): {best:.0f} arrivals/s sustained")
        print(f"ratio opsctl/wrk: {best / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
