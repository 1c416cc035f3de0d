"""Starts the generator processes, keeps them in step, and merges what they measured.

Runs in the opsctl process and never imports Locust or gevent: generators are
``python -m opsctl.load.worker`` subprocesses. Each gets ``rate / workers`` with its schedule
shifted by ``i / rate``, so together they make one evenly spaced schedule. All start at the
same wall-clock instant, after every one has imported its scenario. Their serialized HDR
histograms are added bucket by bucket, which is exact (never averaging percentiles).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from opsctl.errors import DependencyError, InterruptedByUser
from opsctl.load.engine_names import DEFAULT_ERROR_STATUS
from opsctl.load.histograms import RunData, generator_capacity
from opsctl.load.spec import GeneratorSpec, parse_protocol_line

READY_TIMEOUT_S = 75.0  # longer than the coordinator's wait for remote workers
START_MARGIN_S = 0.3


class GeneratorOverloadedError(DependencyError):
    """The scenario costs its generator more CPU per arrival than the asked rate leaves."""


@dataclass(frozen=True)
class LoadPlan:
    """What to run: the whole run, before it is split between generators."""

    scenario: Path
    host: str
    rate: float
    warmup_s: float
    duration_s: float
    workers: int = 1
    max_users: int = 1000
    drain_timeout_s: float = 10.0
    import_root: Path | None = None
    remote_workers: int = 0  # generators joining over Locust's master/worker protocol
    master_bind: str = "127.0.0.1:5557"  # where remote workers connect (host:port)
    error_status: int = DEFAULT_ERROR_STATUS  # a response with this status or above failed

    @property
    def generators(self) -> int:
        return self.workers + self.remote_workers


@dataclass
class Progress:
    """The latest progress line of every generator (for live views)."""

    per_worker: dict[int, dict[str, Any]] = field(default_factory=dict)

    def update(self, message: dict[str, Any]) -> None:
        self.per_worker[int(message["worker"])] = message

    def overload(self, rate_per_generator: float) -> str | None:
        """Why a generator cannot drive its share of the rate on this machine, or None.

        Calibrated from the run itself: the generator's CPU time over the arrivals it started,
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


class _Generator:
    """One worker subprocess and the thread reading its stdout."""

    def __init__(
        self,
        spec: GeneratorSpec,
        on_message: Callable[[dict[str, Any]], None],
        module: str = "opsctl.load.worker",
        arguments: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        self.ready = threading.Event()
        self.finished = threading.Event()
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.on_message = on_message
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._send(spec.to_line())

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
            if kind == "ready":
                self.ready.set()
            elif kind == "result":
                self.result = message["data"]
            elif kind == "error":
                self.error = str(message.get("message"))
            else:
                self.on_message(message)
        self.process.wait()
        if self.result is None and self.error is None:
            self.error = f"exited with code {self.process.returncode}: {self.stderr_tail()}"
        self.ready.set()
        self.finished.set()

    def stderr_tail(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()
        return text[-600:] if text else "(no output)"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()


def run_generators(
    plan: LoadPlan,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_window: Callable[[str], None] | None = None,
    cancelled: threading.Event | None = None,
) -> LaunchOutcome:
    """Run the plan on ``plan.workers`` generator processes; return the merged data.

    ``on_window("start")`` and ``on_window("end")`` are called (from a timer thread) when the
    measured window opens and closes, e.g. to scrape the service's ``/metrics``.
    With ``plan.remote_workers``, one more subprocess coordinates that many remote
    generators over Locust's master/worker protocol (``opsctl load worker --master``).
    Raises :class:`DependencyError` when no generator could run at all.
    """
    progress = Progress()
    lock = threading.Lock()

    total = plan.generators
    overloaded: list[str] = []

    def on_message(message: dict[str, Any]) -> None:
        if message.get("type") != "progress":
            return
        with lock:
            progress.update(message)
            why = None if overloaded else progress.overload(plan.rate / total)
            if why is not None:
                overloaded.append(why)
            if on_progress is not None:
                on_progress(progress)

    base = GeneratorSpec(
        scenario=str(plan.scenario.resolve()),
        host=plan.host,
        rate=plan.rate / total,
        phase=0.0,
        warmup_s=plan.warmup_s,
        duration_s=plan.duration_s,
        max_users=plan.max_users,
        drain_timeout_s=plan.drain_timeout_s,
        import_root=str(plan.import_root) if plan.import_root else None,
        error_status=plan.error_status,
    )
    generators = [
        _Generator(replace(base, phase=index / total, worker_index=index), on_message)
        for index in range(plan.workers)
    ]
    if plan.remote_workers:
        host, _, port = plan.master_bind.rpartition(":")
        coordinator = replace(
            base,
            phase=plan.workers / total,
            worker_index=plan.workers,
            remote_workers=plan.remote_workers,
            phase_step=1 / total,
            bind_host=host or "127.0.0.1",
            bind_port=int(port),
        )
        generators.append(
            _Generator(coordinator, on_message, "opsctl.load.distributed", ("coordinator",))
        )
    timers: list[threading.Timer] = []
    try:
        _wait_all(generators, "ready", READY_TIMEOUT_S, cancelled, overloaded)
        broken = [g for g in generators if g.error is not None]
        if broken:
            raise DependencyError(
                f"load generator {broken[0].spec.worker_index} could not start: {broken[0].error}"
            )
        start_epoch = time.time() + START_MARGIN_S
        for generator in generators:
            generator.start(start_epoch)
        if on_window is not None:
            for at, event in ((plan.warmup_s, "start"), (plan.warmup_s + plan.duration_s, "end")):
                timer = threading.Timer(start_epoch + at - time.time(), on_window, (event,))
                timer.daemon = True
                timer.start()
                timers.append(timer)
        budget = START_MARGIN_S + plan.warmup_s + plan.duration_s + plan.drain_timeout_s + 30
        _wait_all(generators, "finished", budget, cancelled, overloaded)
        for timer in timers:
            timer.join(timeout=30)
        return LaunchOutcome(_merge(plan, generators), start_epoch)
    finally:
        for timer in timers:
            timer.cancel()
        for generator in generators:
            generator.close()


def _wait_all(
    generators: list[_Generator],
    what: str,
    timeout: float,
    cancelled: threading.Event | None,
    overloaded: list[str],
) -> None:
    deadline = time.monotonic() + timeout
    for generator in generators:
        event: threading.Event = getattr(generator, what)
        while not event.wait(0.1):
            if cancelled is not None and cancelled.is_set():
                raise InterruptedByUser("load run cancelled")
            if overloaded:  # its numbers would measure the generator: stop now
                raise GeneratorOverloadedError(overloaded[0])
            if time.monotonic() > deadline:
                generator.error = generator.error or f"no '{what}' within {timeout:.0f}s"
                return


def _merge(plan: LoadPlan, generators: list[_Generator]) -> RunData:
    merged = RunData(
        duration_s=plan.duration_s,
        warmup_s=plan.warmup_s,
        target_rate=plan.rate,
        workers=plan.generators,
    )
    for generator in generators:
        if generator.result is None:
            merged.failed_workers.append(
                f"generator {generator.spec.worker_index}: {generator.error or 'no result'}"
            )
            continue
        merged.merge(RunData.from_json(generator.result))
    if len(merged.failed_workers) == len(generators):
        raise DependencyError(f"every load generator failed: {merged.failed_workers[0]}")
    return merged
