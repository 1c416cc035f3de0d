"""The open-model scheduler, run inside a generator process (imports Locust, so gevent).

Arrivals are due at a fixed rate, whatever the service does: arrival ``k`` is due at
``start + (k + phase) / rate``. Each arrival takes an idle Locust user (or creates one, up to
``max_users``) and runs one of its tasks, chosen by weight. The first request of an arrival
is timed from when the arrival was *due*; each following request of the same task from when
the previous one ended (the moment the user wanted to send it). So a stalled server or a
late generator shows up as latency instead of silently sending less (coordinated omission).

Only arrivals due after the warm-up are recorded (by timestamp, so it works the same in every
process). A greenlet measures event-loop lag; the parent turns it, the achieved rate and
scenario exceptions into run validity.

Never import this module outside a generator process: importing Locust monkey-patches.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gevent
import gevent.local
import gevent.queue
from gevent.pool import Group
from locust import User
from locust import events as global_events
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser

from opsctl.load.engine_names import DEFAULT_ERROR_STATUS, UNFINISHED, operation_name
from opsctl.load.histograms import RunData, clamp
from opsctl.load.spec import GeneratorSpec

LAG_PROBE_INTERVAL_S = 0.05


@dataclass(eq=False)
class Arrival:
    """One scheduled arrival, visible to the request listener through a greenlet-local."""

    due: float  # perf_counter time the arrival was due
    next_due: float  # when the next request of this arrival was meant to be sent
    tags: frozenset[str]
    measured: bool  # due inside the measured window
    sent: int = 0  # requests this arrival recorded (none: the arrival did nothing)


def load_user_classes(scenario: Path) -> list[type[User]]:
    """The concrete Locust user classes defined in the scenario file."""
    spec = importlib.util.spec_from_file_location("opsctl_scenario", scenario)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {scenario}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["opsctl_scenario"] = module
    spec.loader.exec_module(module)
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, User)
        and not value.__dict__.get("abstract", False)
        and value.__module__ == module.__name__
    ]
    if not classes:
        raise RuntimeError(f"{scenario} defines no Locust user class")
    for cls in classes:
        if not cls.tasks:
            raise RuntimeError(f"{cls.__name__} in {scenario} has no tasks")
        if any(isinstance(task, type) for task in cls.tasks):
            raise RuntimeError(f"{cls.__name__}: TaskSets are not supported, use @task methods")
    return classes


class OpenModelEngine:
    """Runs one generator's share of the schedule and records what it measured."""

    def __init__(self, spec: GeneratorSpec, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.spec = spec
        self.emit = emit
        self.classes = load_user_classes(Path(spec.scenario))
        for cls in self.classes:
            cls.host = spec.host  # what Locust's CLI does with --host
        self.environment = Environment(
            user_classes=self.classes, host=spec.host, events=global_events
        )
        self.environment.events.request.add_listener(self._on_request)  # type: ignore[no-untyped-call]
        self.data = RunData(
            duration_s=spec.duration_s, warmup_s=spec.warmup_s, target_rate=spec.rate
        )
        self.local = gevent.local.local()
        self.idle: dict[type[User], gevent.queue.Queue[User]] = {
            cls: gevent.queue.Queue() for cls in self.classes
        }
        self.user_count = 0
        self.active: dict[int, Arrival] = {}
        self.weights = [max(0, int(getattr(cls, "weight", 1))) for cls in self.classes]
        self.start = self.measure_start = self.end = 0.0
        self.cpu_before = 0.0

    # -- timing -----------------------------------------------------------------------------

    def run(self, start_epoch: float) -> RunData:
        """Run the schedule that starts at wall-clock ``start_epoch``; return the data."""
        offset = start_epoch - time.time()
        self.start = time.perf_counter() + offset
        self.measure_start = self.start + self.spec.warmup_s
        self.end = self.measure_start + self.spec.duration_s
        self.environment.events.test_start.fire(environment=self.environment)  # type: ignore[no-untyped-call]
        group = Group()
        probes = [gevent.spawn(self._lag_probe), gevent.spawn(self._progress)]
        self.cpu_before = time.process_time()  # the scenario's own cost here: capacity
        self._schedule(group)
        group.join(timeout=self.spec.drain_timeout_s)
        self._give_up_on_unfinished(group)
        self.data.cpu_s = time.process_time() - self.cpu_before
        gevent.killall(probes)
        self.environment.events.test_stop.fire(environment=self.environment)  # type: ignore[no-untyped-call]
        return self.data

    def _schedule(self, group: Group) -> None:
        interval = 1.0 / self.spec.rate
        k = 0
        while True:
            due = self.start + (k + self.spec.phase) * interval
            if due >= self.end:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            if due >= self.measure_start:
                self.data.scheduled += 1
            group.spawn(self._arrive, due, k)
            self.data.arrivals += 1
            k += 1

    def _lag_probe(self) -> None:
        while True:
            before = time.perf_counter()
            gevent.sleep(LAG_PROBE_INTERVAL_S)
            after = time.perf_counter()
            if self.measure_start <= after <= self.end:
                late_us = (after - before - LAG_PROBE_INTERVAL_S) * 1e6
                self.data.lag.record_value(clamp(late_us, 60_000_000))

    def _progress(self) -> None:
        while True:
            gevent.sleep(self.spec.progress_interval_s)
            now = time.perf_counter()
            self.emit(
                "progress",
                {
                    "worker": self.spec.worker_index,
                    "elapsed_s": now - self.start,
                    "measuring": now >= self.measure_start,
                    "arrivals": self.data.arrivals,
                    "cpu_s": time.process_time() - self.cpu_before,
                    "operations": {
                        name: {"count": stats.count, "errors": stats.errors}
                        for name, stats in self.data.operations.items()
                    },
                    "latency": {
                        name: bytes(stats.latency.encode()).decode("ascii")
                        for name, stats in self.data.operations.items()
                    },
                },
            )

    # -- arrivals ---------------------------------------------------------------------------

    def _arrive(self, due: float, k: int) -> None:
        measured = due >= self.measure_start
        cls = random.choices(self.classes, weights=self.weights)[0]  # noqa: S311 (a load mix)
        # One arrival object from start to end: a new user's on_start (log in, ...) is part of
        # the arrival that created it, and the task's first request is due when it ends.
        arrival = Arrival(due, due, frozenset(), measured)
        self.active[k] = arrival
        try:
            user = self._acquire(cls, arrival)
            if user is not None:
                self._run_task(cls, user, arrival)
        finally:
            self.active.pop(k, None)
            self.local.arrival = None

    def _began(self, arrival: Arrival, *, waited: bool = False) -> None:
        began = time.perf_counter()
        if arrival.measured:
            # waiting for a busy user is the service's slowness, not the generator's: kept out
            if not waited:
                delay_us = clamp((began - arrival.due) * 1e6, 60_000_000)
                self.data.start_delay.record_value(delay_us)
            if began <= self.end:
                self.data.began_on_time += 1

    def _run_task(self, cls: type[User], user: User, arrival: Arrival) -> None:
        task = cast(Callable[[User], None], random.choice(user.tasks))  # noqa: S311
        arrival.tags = frozenset(getattr(task, "locust_tag_set", ()))
        self.local.arrival = arrival
        keep = True
        try:
            task(user)
        except (RescheduleTask, RescheduleTaskImmediately, InterruptTaskSet):
            pass
        except StopUser:
            keep = False
        except gevent.GreenletExit:
            raise
        except Exception as error:  # scenario code failed: the run is not trustworthy
            where = traceback.extract_tb(error.__traceback__)[-1]
            self.data.exceptions[f"{type(error).__name__}: {error} ({where.name})"[:300]] += 1
        if arrival.measured and arrival.sent == 0:
            self.data.empty_arrivals += 1
        if keep:
            self.idle[cls].put(user)
        else:
            self.user_count -= 1

    def _acquire(self, cls: type[User], arrival: Arrival) -> User | None:
        """An idle user, a new one (its on_start run), or the next one freed at max_users."""
        queue = self.idle[cls]
        if not queue.empty():
            self._began(arrival)
            user: User = queue.get()
            return user
        if self.user_count >= self.spec.max_users:
            if arrival.measured:
                self.data.waited_for_user += 1
            waited: User = queue.get()
            self._began(arrival, waited=True)
            return waited
        self._began(arrival)
        self.user_count += 1
        self.local.arrival = arrival
        try:
            user = cls(self.environment)
            user.on_start()
        except gevent.GreenletExit:
            raise
        except Exception as error:
            self.data.exceptions[f"on_start: {type(error).__name__}: {error}"[:300]] += 1
            self.user_count -= 1
            return None
        return user

    def _give_up_on_unfinished(self, group: Group) -> None:
        """Requests still running after the drain timeout fail, timed up to now (a lower bound)."""
        now = time.perf_counter()
        for arrival in list(self.active.values()):
            if arrival.measured:
                self.data.unfinished += 1
                stats = self.data.operation(UNFINISHED)
                stats.tags |= arrival.tags
                stats.record(
                    (now - arrival.next_due) * 1e6,
                    (now - arrival.next_due) * 1e6,
                    second=int(arrival.due - self.start),
                    error=f"no response within the drain timeout ({self.spec.drain_timeout_s}s)",
                )
        group.kill(block=True, timeout=2)

    # -- measurement ------------------------------------------------------------------------

    def _on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int,
        exception: BaseException | None = None,
        **_: Any,
    ) -> None:
        now = time.perf_counter()
        arrival: Arrival | None = getattr(self.local, "arrival", None)
        service_us = (response_time or 0.0) * 1000.0
        if arrival is None:  # a request outside any arrival (test_start hooks...): not judged
            return
        due = arrival.next_due
        arrival.next_due = now
        arrival.sent += 1
        if not arrival.measured:
            self.data.warmup_requests += 1
            return
        stats = self.data.operation(operation_name(request_type, name))
        stats.tags |= arrival.tags
        response = _.get("response")
        if exception is not None and status_failure(exception):
            exception = None  # Locust's own status rule: replaced by error_status below
        error = (
            f"{type(exception).__name__}: {exception}"
            if exception is not None
            else response_error(response, self.spec.error_status)
        )
        stats.record(
            (now - due) * 1e6, service_us, second=int(arrival.due - self.start), error=error
        )


def status_failure(exception: BaseException) -> bool:
    """Whether Locust failed the request for its HTTP status alone (not the scenario).

    ``FastHttpUser`` fails any status outside its valid codes with ``LocustBadStatusCode``,
    ``HttpUser`` a status of 400 or above with requests' ``HTTPError`` (both also inside
    ``catch_response`` blocks the scenario left undecided). The engine judges the status
    itself, against ``error_status``; a scenario's own ``response.failure(...)`` (a
    ``CatchResponseError``, or the exception it passed) still fails the request.
    """
    kind = type(exception)
    return (kind.__name__ == "LocustBadStatusCode" and kind.__module__.startswith("locust")) or (
        kind.__name__ == "HTTPError" and kind.__module__.startswith("requests")
    )


def response_error(response: Any, error_status: int = DEFAULT_ERROR_STATUS) -> str | None:
    """Why a response that the user class let pass is still a failure, or None.

    Judged here, for every user class (a plain ``HttpUser`` posting to a GraphQL endpoint
    included): a status of ``error_status`` (``load.error_status``, default 400) or above, or
    a JSON body with a non-empty GraphQL ``errors`` list (errors usually come with HTTP 200).
    A connection that failed has status 0 and comes with its exception instead.
    """
    if response is None:
        return None
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status >= error_status:
        return f"HTTP {status}"
    try:
        content = response.content
    except Exception:  # a body that cannot be read is judged by status alone
        return None
    if not isinstance(content, bytes) or b'"errors"' not in content[:65536]:
        return None
    import json

    try:
        body = json.loads(content)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return None
    first = errors[0] if isinstance(errors, list) else errors
    message = first.get("message") if isinstance(first, dict) else first
    return f"HTTP {status}: GraphQL error: {message}"
