"""Starts a run's master and its local workers, keeps them in step, merges what they measured.

Runs in the opsctl process and never imports Locust or gevent. The master is
``python -m opsctl.load.master`` (a Locust ``MasterRunner``); each local worker is a stock
``python -m locust -f SCENARIO,HOOKS --worker`` joining it over Locust's own protocol on
loopback, exactly as a worker on another machine joins it (``expect_workers``). The master
gives each of the N workers ``rate / N`` with its schedule shifted by ``i / rate``, so together
they make one evenly spaced schedule. Their serialized HDR histograms are added here bucket
by bucket, which is exact (never averaging percentiles); a lost worker's partial data is not.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess  # nosec B404 - starts Locust processes with argument lists, never a shell
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from opsctl.errors import DependencyError, InterruptedByUser
from opsctl.load.engine_names import DEFAULT_ERROR_STATUS
from opsctl.load.histograms import RunData, generator_capacity
from opsctl.load.spec import PREPARE_TIMEOUT_S, MasterSpec, parse_bind, parse_protocol_line
from opsctl.load.worker_hooks import HOOKS_LOCUSTFILE
from opsctl.processes import output_tail, stop_group

STARTUP_TIMEOUT_S = 60.0  # the master importing Locust and the scenario
START_MARGIN_S = 0.5  # the run message reaches every worker before the schedule starts
WORKER_EXIT_WAIT_S = 10.0
DEFAULT_MASTER_PORT = 5557


class GeneratorOverloadedError(DependencyError):
    """The scenario costs its generator more CPU per arrival than the asked rate leaves."""


class WorkersRefusedError(DependencyError):
    """The workers did not all join in time, or run another scenario file or opsctl version."""


@dataclass(frozen=True)
class LoadPlan:
    """What to run: the whole run, before the master splits it between workers."""

    scenario: Path
    host: str
    rate: float
    warmup_s: float
    duration_s: float
    workers: int = 1  # local workers opsctl starts
    max_users: int = 1000
    drain_timeout_s: float = 10.0
    import_root: Path | None = None
    expect_workers: int = 0  # workers joining from elsewhere (stock locust --worker)
    master_bind: str | None = None  # host:port; None: loopback, and a free port if all local
    expect_workers_max_wait_s: float = 60.0
    error_status: int = DEFAULT_ERROR_STATUS  # a response with this status or above failed

    @property
    def generators(self) -> int:
        return self.workers + self.expect_workers

    def bind(self) -> tuple[str, int]:
        """Where the master listens: loopback unless told, a free port when no one joins."""
        if self.master_bind is None:
            return "127.0.0.1", DEFAULT_MASTER_PORT if self.expect_workers else 0
        return parse_bind(self.master_bind)


@dataclass
class Progress:
    """The latest progress line of every worker (for live views)."""

    per_worker: dict[int, dict[str, Any]] = field(default_factory=dict)

    def update(self, message: dict[str, Any]) -> None:
        self.per_worker[int(message["worker"])] = message

    def overload(self, rate_per_generator: float) -> str | None:
        """Why a worker cannot drive its share of the rate on its machine, or None.

        Calibrated from the run itself: the worker's CPU time over the arrivals it started,
        with the scenario's own user classes (an arrival that logs in costs what it costs).
        """
        for worker, latest in sorted(self.per_worker.items()):
            arrivals, cpu_s = int(latest.get("arrivals", 0)), float(latest.get("cpu_s", 0.0))
            capacity = generator_capacity(arrivals, cpu_s)
            if capacity is not None and rate_per_generator > capacity:
                return (
                    f"refused after {arrivals} arrivals: the scenario costs generator {worker} "
                    f"{1000 / capacity:.1f} ms of CPU per arrival on this machine, so "
                    f"one process sustains about {capacity:.0f} arrivals/s, below the "
                    f"{rate_per_generator:.0f}/s asked of each: add generators (load.workers) "
                    "or lower the rate"
                )
        return None


@dataclass
class LaunchOutcome:
    data: RunData
    start_epoch: float
    per_worker: list[RunData] = field(default_factory=list)  # by worker index, lost ones absent


def _environment(plan: LoadPlan) -> dict[str, str]:
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if plan.import_root is not None:  # the scenario may import the project's own modules
        parts = [str(plan.import_root), environment.get("PYTHONPATH", "")]
        environment["PYTHONPATH"] = os.pathsep.join(part for part in parts if part)
    return environment


class _Master:
    """The master subprocess and the thread reading its stdout."""

    def __init__(self, plan: LoadPlan, on_message: Callable[[dict[str, Any]], None]) -> None:
        host, port = plan.bind()
        self.spec = MasterSpec(
            scenario=str(plan.scenario.resolve()),
            host=plan.host,
            rate=plan.rate,
            warmup_s=plan.warmup_s,
            duration_s=plan.duration_s,
            max_users=plan.max_users,
            drain_timeout_s=plan.drain_timeout_s,
            expect_workers=plan.generators,
            bind_host=host,
            bind_port=port,
            expect_workers_max_wait_s=plan.expect_workers_max_wait_s,
            import_root=str(plan.import_root) if plan.import_root else None,
            error_status=plan.error_status,
        )
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(  # nosec B603 - our own module, argument list
            [sys.executable, "-m", "opsctl.load.master"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=_environment(plan),
            start_new_session=True,
        )
        self.port: int | None = None
        self.listening, self.ready, self.finished = (threading.Event() for _ in range(3))
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.refused = False
        self.on_message = on_message
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._send(self.spec.to_line())

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()

    def start(self, epoch: float) -> None:
        self._send(json.dumps({"start": epoch}))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = parse_protocol_line(line.rstrip("\n"))
            if message is None:
                continue
            kind = message.get("type")
            if kind == "listening":
                self.port = int(message["port"])
                self.listening.set()
            elif kind == "ready":
                self.ready.set()
            elif kind == "result":
                self.result = message
            elif kind == "error":
                self.error = str(message.get("message"))
                self.refused = bool(message.get("refused"))
            else:
                self.on_message(message)
        self.process.wait()
        if self.result is None and self.error is None:
            self.error = f"the master exited with code {self.process.returncode}: {self.tail()}"
        for event in (self.listening, self.ready, self.finished):
            event.set()

    def tail(self) -> str:
        return output_tail(self.stderr, 600)

    def close(self) -> None:
        stop_group(self.process)
        self.reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()


def worker_command(scenario: Path, master_host: str, master_port: int) -> list[str]:
    """A stock Locust worker for ``scenario``, with opsctl's hooks added as a second locustfile."""
    return [
        sys.executable, "-m", "locust", "-f", f"{scenario.resolve()},{HOOKS_LOCUSTFILE}",
        "--worker", "--master-host", master_host, "--master-port", str(master_port),
        "--loglevel", "WARNING",
    ]  # fmt: skip


class _LocalWorker:
    def __init__(self, plan: LoadPlan, master_host: str, master_port: int) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(  # nosec B603 - Locust's own CLI, argument list
            worker_command(plan.scenario, master_host, master_port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            env=_environment(plan),
            start_new_session=True,
        )

    def close(self, *, quit_sent: bool) -> None:
        if quit_sent:  # the master's quit ends a stock worker; give it the time to
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=WORKER_EXIT_WAIT_S)
        stop_group(self.process)
        self.stderr.close()


def _connect_host(bind_host: str) -> str:
    """Where local workers reach a master bound to ``bind_host`` (any address: loopback)."""
    anywhere = {"0.0.0.0", "*", "", "::"}  # noqa: S104 (names compared, nothing bound)
    if bind_host in anywhere:
        return "::1" if bind_host == "::" else "127.0.0.1"
    return bind_host


def run_generators(
    plan: LoadPlan,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_window: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> LaunchOutcome:
    """Run the plan on its master and workers; return the merged data.

    ``on_window("start")`` and ``on_window("end")`` are called (from a timer thread) when the
    measured window opens and closes, e.g. to scrape the service's ``/metrics``.
    Raises :class:`DependencyError` when the run could not be made at all.
    """
    progress = Progress()
    lock = threading.Lock()
    overloaded: list[str] = []

    def on_message(message: dict[str, Any]) -> None:
        if message.get("type") != "progress":
            return
        with lock:
            progress.update(message)
            why = None if overloaded else progress.overload(plan.rate / plan.generators)
            if why is not None:
                overloaded.append(why)
            if on_progress is not None:
                on_progress(progress)

    master = _Master(plan, on_message)
    workers: list[_LocalWorker] = []
    timers: list[threading.Timer] = []
    try:
        _wait(master, master.listening, STARTUP_TIMEOUT_S, cancelled, overloaded, workers)
        if master.port is None:
            raise DependencyError(f"the load master could not start: {master.error}")
        host = _connect_host(master.spec.bind_host)
        workers = [_LocalWorker(plan, host, master.port) for _ in range(plan.workers)]
        # joining, then every worker's test_start hooks (opsctl.load.master bounds both)
        max_wait = plan.expect_workers_max_wait_s
        joining = max_wait + max(PREPARE_TIMEOUT_S, max_wait) + STARTUP_TIMEOUT_S
        _wait(master, master.ready, joining, cancelled, overloaded, workers)
        if master.error is not None or not master.ready.is_set():
            raise _start_failure(master, workers)
        start_epoch = time.time() + START_MARGIN_S
        master.start(start_epoch)
        if on_window is not None:
            for at, event in ((plan.warmup_s, "start"), (plan.warmup_s + plan.duration_s, "end")):
                timer = threading.Timer(start_epoch + at - time.time(), on_window, (event,))
                timer.daemon = True
                timer.start()
                timers.append(timer)
        budget = START_MARGIN_S + plan.warmup_s + plan.duration_s + plan.drain_timeout_s + 60
        _wait(master, master.finished, budget, cancelled, overloaded, [])
        for timer in timers:
            timer.join(timeout=30)
        return _merge(plan, master, start_epoch)
    finally:
        for timer in timers:
            timer.cancel()
        quit_sent = master.result is not None or master.refused
        master.close()
        for worker in workers:
            worker.close(quit_sent=quit_sent)


def _start_failure(master: _Master, workers: list[_LocalWorker]) -> DependencyError:
    ended = [w for w in workers if w.process.poll() is not None]
    why = master.error or ("" if ended else "the workers did not join in time")
    if ended:  # a local worker that could not start says why on its stderr
        why += "; " if why else ""
        why += f"a local worker exited before the run, code {ended[0].process.returncode}: "
        why += output_tail(ended[0].stderr, 600)
    return WorkersRefusedError(why) if master.refused else DependencyError(why)


def _wait(
    master: _Master,
    event: threading.Event,
    timeout: float,
    cancelled: threading.Event | None,
    overloaded: list[str],
    workers: list[_LocalWorker],
) -> None:
    deadline = time.monotonic() + timeout
    while not event.wait(0.1):
        if cancelled is not None and cancelled.is_set():
            raise InterruptedByUser("load run cancelled")
        if overloaded:  # its numbers would measure the generator: stop now
            raise GeneratorOverloadedError(overloaded[0])
        if workers and all(w.process.poll() is not None for w in workers):
            return  # every local worker ended before joining: the caller says why
        if time.monotonic() > deadline:
            master.error = master.error or f"no answer from the load master within {timeout:.0f}s"
            return


def _merge(plan: LoadPlan, master: _Master, start_epoch: float) -> LaunchOutcome:
    if master.result is None:
        raise DependencyError(f"the load run ended without a result: {master.error}")
    merged = RunData(
        duration_s=plan.duration_s,
        warmup_s=plan.warmup_s,
        target_rate=plan.rate,
        workers=plan.generators,
    )
    per_worker = []
    for entry in master.result["workers"]:
        data = RunData.from_json(entry["data"])
        per_worker.append(data)
        merged.merge(data)
    merged.failed_workers.extend(str(item) for item in master.result["lost"])
    if not per_worker:
        raise DependencyError(f"every load worker was lost: {merged.failed_workers[0]}")
    return LaunchOutcome(merged, start_epoch, per_worker)
