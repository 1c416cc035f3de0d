"""Runs on several stock Locust workers, end to end on loopback: split, merged, refused, lost.

Every worker is a real ``locust --worker`` process joined to opsctl's master over Locust's own
protocol; the service is the load fixture service, whose ``Cycle`` operation answers after a
fixed sequence of delays, so any run of the same schedule sees the same latencies.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.opsctl.cli.helpers import free_port
from tests.opsctl.gates.load.conftest import FIXTURES, SERVICE

from opsctl.errors import InterruptedByUser
from opsctl.load.launcher import (
    LaunchOutcome,
    LoadPlan,
    Progress,
    WorkersRefusedError,
    run_generators,
)
from opsctl.load.verdict import run_problems

pytestmark = pytest.mark.slow

RATE = 80.0  # 1 s of warm-up and 4 s measured: 80 + 320 calls, 2 + 8 whole cycles of 40
PLATEAUS_MS = {50: 10.0, 95: 120.0, 99: 250.0}  # where Cycle's P50, P95 and P99 lie


def cycle_run(workers: int, **plan: object) -> LaunchOutcome:
    with SERVICE.FixtureService() as service:
        return run_generators(
            LoadPlan(
                scenario=FIXTURES / "cycle.py",
                host=service.url,
                rate=RATE,
                warmup_s=1.0,
                duration_s=4.0,
                workers=workers,
                drain_timeout_s=5.0,
                **plan,  # type: ignore[arg-type]
            )
        )


def stock_worker(scenario: Path, port: int) -> subprocess.Popen[bytes]:
    """``locust -f SCENARIO --worker``, as a user would start it on another machine."""
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(scenario), "--worker",
         "--master-host", "127.0.0.1", "--master-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def test_two_and_three_workers_measure_what_one_process_measures() -> None:
    runs = {workers: cycle_run(workers) for workers in (1, 2, 3)}
    single = runs[1].data.operations["Cycle"]
    assert runs[1].data.scheduled == 320
    for workers, outcome in runs.items():
        data, cycle = outcome.data, outcome.data.operations["Cycle"]
        assert len(outcome.per_worker) == workers
        assert data.failed_workers == []
        # the same schedule, split: every arrival once, exactly as many as in one process
        assert data.scheduled == runs[1].data.scheduled
        assert data.warmup_requests == runs[1].data.warmup_requests
        assert cycle.count == single.count == 320
        assert cycle.errors == 0
        # each worker ran its share: 1/N of the arrivals, within one
        for share in outcome.per_worker:
            assert abs(share.scheduled - 320 / workers) <= 1
        # merged bucket by bucket: the percentiles of one process, not an average of shares
        for percentile, plateau in PLATEAUS_MS.items():
            merged = cycle.percentile_ms(percentile)
            alone = single.percentile_ms(percentile)
            assert merged is not None and alone is not None
            assert plateau <= merged < plateau + 20, (workers, percentile, merged)
            assert abs(merged - alone) <= max(5.0, 0.05 * plateau), (workers, percentile)


def test_a_worker_killed_mid_run_makes_the_run_incomplete_and_its_data_is_left_out() -> None:
    port = free_port()
    outside = stock_worker(FIXTURES / "cycle.py", port)
    killed = threading.Event()

    def kill_when_measuring(progress: Progress) -> None:
        started = [p for p in progress.per_worker.values() if p.get("elapsed_s", 0) > 1.5]
        if len(progress.per_worker) == 2 and started and not killed.is_set():
            killed.set()
            outside.kill()

    try:
        with SERVICE.FixtureService() as service:
            plan = LoadPlan(
                scenario=FIXTURES / "cycle.py", host=service.url, rate=RATE, warmup_s=1.0,
                duration_s=4.0, workers=1, expect_workers=1, master_bind=f"127.0.0.1:{port}",
                drain_timeout_s=5.0,
            )  # fmt: skip
            outcome = run_generators(plan, on_progress=kill_when_measuring)
    finally:
        outside.kill()
        outside.wait()
    assert killed.is_set()
    data = outcome.data
    assert len(data.failed_workers) == 1
    lost = data.failed_workers[0]
    assert "its partial data is left out" in lost
    assert "heartbeats" in lost or "left the run" in lost or "no progress" in lost
    assert len(outcome.per_worker) == 1  # the live worker's data only, whole
    assert data.scheduled == outcome.per_worker[0].scheduled == 160
    problems = run_problems(data, max_lag_ms=100, max_stall_ms=1000)
    assert lost in problems  # the verdict: incomplete, naming the lost worker


def test_a_worker_with_another_scenario_file_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "cycle.py"
    changed.write_text((FIXTURES / "cycle.py").read_text() + "# edited\n", encoding="utf-8")
    port = free_port()
    outside = stock_worker(changed, port)
    try:
        with pytest.raises(WorkersRefusedError, match=r"runs another scenario: cycle\.py sha256"):
            cycle_run(0, expect_workers=1, master_bind=f"127.0.0.1:{port}")
    finally:
        outside.kill()
        outside.wait()


def test_a_worker_whose_scenario_does_not_import_opsctl_is_named() -> None:
    port = free_port()
    outside = stock_worker(FIXTURES / "plain_locust.py", port)
    refused = pytest.raises(WorkersRefusedError, match=r"joined but did not answer opsctl \(")
    try:
        with refused as e, SERVICE.FixtureService() as service:
            plan = LoadPlan(
                scenario=FIXTURES / "plain_locust.py", host=service.url, rate=10, warmup_s=0,
                duration_s=1, workers=0, expect_workers=1, master_bind=f"127.0.0.1:{port}",
                expect_workers_max_wait_s=4,
            )  # fmt: skip
            run_generators(plan)
        assert "must import opsctl.load" in str(e.value)
    finally:
        outside.kill()
        outside.wait()


def test_too_few_workers_is_a_bounded_wait_that_says_where_it_listened() -> None:
    port = free_port()
    with pytest.raises(WorkersRefusedError, match=rf"only 1 of 2 .* within 3s on 127.0.0.1:{port}"):
        cycle_run(1, expect_workers=1, master_bind=f"127.0.0.1:{port}", expect_workers_max_wait_s=3)


def test_slow_test_start_and_on_stop_hooks_neither_start_late_nor_lose_a_worker() -> None:
    with SERVICE.FixtureService() as service:
        plan = LoadPlan(
            scenario=FIXTURES / "slow_hooks.py", host=service.url, rate=20, warmup_s=0.5,
            duration_s=2.0, workers=2, drain_timeout_s=5.0,
        )  # fmt: skip
        data = run_generators(plan).data
    assert data.failed_workers == []
    assert data.largest_start_delay_ms() < 500  # not 2000: the start came after the hooks
    assert data.operations["Fast"].count == data.scheduled == 40


def test_a_worker_that_leaves_while_others_join_does_not_end_the_wait() -> None:
    port = free_port()
    leaving = stock_worker(FIXTURES / "cycle.py", port)
    staying: list[subprocess.Popen[bytes]] = []

    def swap() -> None:
        time.sleep(4)  # joined and answered by now
        leaving.terminate()  # a stock worker sends Locust's quit as it stops
        leaving.wait()
        staying.extend(stock_worker(FIXTURES / "cycle.py", port) for _ in range(2))

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        outcome = cycle_run(
            0, expect_workers=2, master_bind=f"127.0.0.1:{port}", expect_workers_max_wait_s=30
        )
    finally:
        swapper.join()
        for worker in [leaving, *staying]:
            worker.kill()
            worker.wait()
    assert outcome.data.failed_workers == []
    assert len(outcome.per_worker) == 2
    assert outcome.data.scheduled == 320


def test_a_cancelled_run_tells_the_workers_from_elsewhere_to_quit() -> None:
    port = free_port()
    outside = stock_worker(FIXTURES / "cycle.py", port)
    cancelled = threading.Event()

    def cancel_once_running(progress: Progress) -> None:
        if len(progress.per_worker) == 2:
            cancelled.set()

    try:
        with SERVICE.FixtureService() as service, pytest.raises(InterruptedByUser):
            plan = LoadPlan(
                scenario=FIXTURES / "cycle.py", host=service.url, rate=RATE, warmup_s=1.0,
                duration_s=60.0, workers=1, expect_workers=1, master_bind=f"127.0.0.1:{port}",
            )  # fmt: skip
            run_generators(plan, on_progress=cancel_once_running, cancelled=cancelled)
        # Locust's quit, sent by the master as opsctl stopped it: not its 60 s heartbeat timeout
        assert outside.wait(timeout=10) == 0
    finally:
        if outside.poll() is None:
            outside.kill()
            outside.wait()
