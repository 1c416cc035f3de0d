"""Per-process cost of opsctl's open model against plain Locust, and the rate N workers reach.

1. One process, the same GraphQL user (``GraphQLUser.graphql``) against a trivial endpoint:
   (a) plain Locust ``FastHttpUser`` at full speed (closed model, no wait, 16 users), then
   (b) opsctl's open model (``OpenModelEngine``): the highest rate of a x1.25 ladder it
   sustains (achieved >= 95 %, lag P99 <= 100 ms, P99 <= 50 ms), in the same process, and
   plain Locust paced at that rate (``constant_throughput``). Printed as arrivals (requests)
   per second and per CPU second of that process; the ratio (b)/(a) is the figure (goal 0.8).
2. The aggregate rate that 1, 2 and 4 local workers (stock ``locust --worker`` processes joined
   to opsctl's master) sustain: the highest rate of a x1.4 ladder from 800/s with achieved >= 95 %,
   generator lag P99 <= 100 ms and latency P99 <= 50 ms (the server shares the 2 cores).

Run: .venv/bin/python benchmarks/load_distributed.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from trivial_endpoint import served  # benchmarks/, beside this script

from opsctl.errors import DependencyError
from opsctl.load.launcher import LoadPlan, run_generators

APP = textwrap.dedent(
    """
    BODY = b'{"data": {"ok": true}}'

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": BODY})
    """
)
SCENARIO = textwrap.dedent(
    """
    from locust import constant, task

    from opsctl.load.graphql import GraphQLUser

    class BenchUser(GraphQLUser):
        wait_time = constant(0)

        @task
        def ok(self):
            self.graphql("Ok", "{ ok }")
    """
)
# Runs in a child process (Locust monkey-patches): prints one JSON line.
PER_PROCESS = textwrap.dedent(
    """
    import json, sys, time
    import gevent
    from locust import constant_throughput
    from locust.env import Environment
    from locust.util.load_locustfile import load_locustfile
    from opsctl.load.engine import OpenModelEngine
    from opsctl.load.spec import RunShare

    scenario, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    classes = list(load_locustfile(scenario)[0].values())

    def plain(users, per_user=None):
        if per_user is not None:
            for cls in classes:
                cls.wait_time = constant_throughput(per_user)
        environment = Environment(user_classes=classes, host=url)
        runner = environment.create_local_runner()
        runner.start(users, spawn_rate=users)
        gevent.sleep(1.0)  # spawned and warm
        stats = environment.stats.total
        before, cpu, wall = stats.num_requests, time.process_time(), time.perf_counter()
        gevent.sleep(seconds)
        done = stats.num_requests - before
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        runner.quit()
        return {"rate": done / wall, "per_cpu_s": done / cpu}

    def open_model(rate):
        share = RunShare(host=url, total_rate=rate, stride=1, offset=0, warmup_s=1.0,
                         duration_s=seconds, max_users=1000, drain_timeout_s=5.0,
                         )
        engine = OpenModelEngine(Environment(user_classes=classes, host=url), share,
                                 lambda *_: None)
        engine.prepare()
        data = engine.run(time.perf_counter() + 0.2)
        fast = data.operations["Ok"].percentile_ms(99) or 1e9
        kept = data.achieved_rate >= 0.95 * rate and data.lag_p99_ms() <= 100 and fast <= 50
        return kept, {"rate": rate, "per_cpu_s": data.arrivals / data.cpu_s}

    full = plain(16)
    best, rate = None, 500.0
    while rate < 2 * full["rate"]:
        kept, figures = open_model(rate)
        if not kept:
            break
        best, rate = figures, rate * 1.25
    paced = plain(16, per_user=best["rate"] / 16) if best else None
    print(json.dumps({"plain": full, "open": best, "paced": paced}))
    """
)


def per_process(scenario: Path, url: str, seconds: float) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PER_PROCESS, str(scenario), url, str(seconds)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    plain, best, paced = figures["plain"], figures["open"], figures["paced"]
    print(
        f"(a) plain Locust FastHttpUser, 16 users, no wait: {plain['rate']:.0f} requests/s, "
        f"{plain['per_cpu_s']:.0f} per CPU second"
    )
    if best is None:
        print("(b) opsctl's open model sustained no rate of the ladder")
        return
    print(
        f"(b) opsctl open model, highest rate sustained: {best['rate']:.0f} arrivals/s, "
        f"{best['per_cpu_s']:.0f} per CPU second"
    )
    print(
        f"    plain Locust paced at that rate (constant_throughput): "
        f"{paced['per_cpu_s']:.0f} requests per CPU second"
    )
    print(
        f"ratio (b)/(a), arrivals/s per process: {best['rate'] / plain['rate']:.2f} (goal >= 0.8)"
    )
    print(f"ratio (b)/(a), per CPU second: {best['per_cpu_s'] / plain['per_cpu_s']:.2f}")
    print(f"ratio (b)/paced, per CPU second: {best['per_cpu_s'] / paced['per_cpu_s']:.2f}")


def sustained(scenario: Path, url: str, workers: int, rate: float, seconds: float) -> str | None:
    """None when the rate was sustained, else why not."""
    plan = LoadPlan(scenario=scenario, host=url, rate=rate, warmup_s=1.0, duration_s=seconds,
                    workers=workers)  # fmt: skip
    try:
        data = run_generators(plan).data
    except DependencyError as error:
        return str(error)[:120]
    stats = data.operations.get("Ok")
    p99 = (stats.percentile_ms(99) if stats else None) or float("inf")
    if data.achieved_rate < 0.95 * rate or data.lag_p99_ms() > 100 or p99 > 50:
        lag = data.lag_p99_ms()
        return f"achieved {data.achieved_rate:.0f}/s, lag P99 {lag:.0f} ms, P99 {p99:.0f} ms"
    return None


def aggregate(scenario: Path, url: str, seconds: float) -> None:
    for workers in (1, 2, 4):
        best, rate = 0.0, 800.0
        for _ in range(10):
            why = sustained(scenario, url, workers, rate, seconds)
            print(f"  {workers} worker(s) at {rate:.0f}/s: {'sustained' if why is None else why}")
            if why is not None:
                break
            best, rate = rate, rate * 1.4
        print(f"{workers} local worker(s): {best:.0f} arrivals/s sustained in all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    with served(APP, SCENARIO) as (url, scenario):
        per_process(scenario, url, args.seconds)
        aggregate(scenario, url, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
