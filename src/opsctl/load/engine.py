"""The open-model scheduler, run inside a Locust worker process (imports Locust, so gevent).

Arrivals are due at a fixed rate, whatever the service does: arrival ``j`` of the whole run
is due at ``start + j / rate``, and each of N workers runs every N-th one. Each arrival takes
an idle Locust user (or creates one, up to ``max_users``) and runs one of its tasks, chosen by
weight. The first request of an arrival is timed from when the arrival was *due*; each
following request of the same task from when the previous one ended (the moment the user
wanted to send it). So a stalled server or a late generator shows up as latency instead of
silently sending less (coordinated omission).
A request sent from a greenlet the task spawned (``gevent.spawn``, a ``Pool``) belongs to the
same arrival: it is timed from the moment its spawner was last ready to send.

Only arrivals due after the warm-up are recorded (by timestamp, so it works the same in every
process). A greenlet measures event-loop lag; the verdict turns it, the achieved rate and
scenario exceptions into run validity. The engine runs in the worker's own Locust
``Environment`` (its runner, ``parsed_options`` and events, as plain Locust has them), fires
``test_start``/``test_stop`` there and calls every user's ``on_start`` and ``on_stop``.

Never import this module outside a Locust process: importing Locust monkey-patches.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import gevent
import gevent.queue
from gevent.pool import Group
from locust import User
from locust.env import Environment
from locust.exception import InterruptTaskSet, RescheduleTask, RescheduleTaskImmediately, StopUser
from locust.runners import STATE_RUNNING, STATE_STOPPED

from opsctl.load.engine_names import DEFAULT_ERROR_STATUS, UNFINISHED, operation_name
from opsctl.load.histograms import RunData, clamp
from opsctl.load.spec import RunShare

LAG_PROBE_INTERVAL_S = 0.05


@dataclass(eq=False)
class Arrival:
    """One scheduled arrival, found by the request listener from the greenlet that sends."""

    due: float  # perf_counter time the arrival was due
    tags: frozenset[str]
    measured: bool  # due inside the measured window
    sent: int = 0  # requests this arrival recorded (none: the arrival did nothing)
    # per greenlet of the arrival (its own, and any its task spawned): the moments it was
    # ready to send, oldest first; the last one is when its next request was meant to go
    ready: dict[Any, list[float]] = field(default_factory=dict)

    @property
    def next_due(self) -> float:
        """The latest moment any greenlet of the arrival was ready to send (for unfinished)."""
        return max(times[-1] for times in self.ready.values()) if self.ready else self.due


def check_user_classes(classes: list[type[User]], where: str = "the scenario") -> list[type[User]]:
    """The user classes the engine can drive, or a clear error (TaskSets are not supported)."""
    if not classes:
        raise RuntimeError(f"{where} defines no Locust user class")
    for cls in classes:
        if not cls.tasks:
            raise RuntimeError(f"{cls.__name__} has no tasks")
        if any(isinstance(task, type) for task in cls.tasks):
            raise RuntimeError(f"{cls.__name__}: TaskSets are not supported, use @task methods")
    return classes


class OpenModelEngine:
    """Runs one worker's share of the schedule and records what it measured."""

    def __init__(
        self,
        environment: Environment,
        share: RunShare,
        emit: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self.share = share
        self.emit = emit
        self.classes = check_user_classes(list(environment.user_classes))
        environment.host = share.host
        for cls in self.classes:
            cls.host = share.host  # what Locust's CLI does with --host
        self.environment = environment
        self.data = RunData(
            duration_s=share.duration_s, warmup_s=share.warmup_s, target_rate=share.rate
        )
        self.by_greenlet: dict[Any, Arrival] = {}
        self.idle: dict[type[User], gevent.queue.Queue[User]] = {
            cls: gevent.queue.Queue() for cls in self.classes
        }
        self.user_count = 0
        self.active: dict[int, Arrival] = {}
        self.weights = [max(0, int(getattr(cls, "weight", 1))) for cls in self.classes]
        self.start = self.measure_start = self.end = 0.0
        self.cpu_before = 0.0

    # -- timing -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Before the start is set: ``test_start`` hooks (seeding, log-ins) take what they take."""
        self.environment.events.request.add_listener(self._on_request)  # type: ignore[no-untyped-call]
        self._runner_state(STATE_RUNNING)
        self.environment.events.test_start.fire(environment=self.environment)  # type: ignore[no-untyped-call]

    def run(self, start_perf: float) -> RunData:
        """Run the schedule that starts at ``start_perf`` (``time.perf_counter()``).

        Call :meth:`prepare` first. Progress keeps flowing until the end, ``on_stop`` and
        ``test_stop`` included, so a slow clean-up is not taken for a lost worker.
        """
        self.start = start_perf
        self.measure_start = self.start + self.share.warmup_s
        self.end = self.measure_start + self.share.duration_s
        events = self.environment.events
        probes = [gevent.spawn(self._lag_probe), gevent.spawn(self._progress)]
        try:
            group = Group()
            self.cpu_before = time.process_time()  # the scenario's own cost here: capacity
            self._schedule(group)
            group.join(timeout=self.share.drain_timeout_s)
            self._give_up_on_unfinished(group)
            self.data.cpu_s = time.process_time() - self.cpu_before
            events.test_stopping.fire(environment=self.environment)  # type: ignore[no-untyped-call]
            self._stop_users()
            events.test_stop.fire(environment=self.environment)  # type: ignore[no-untyped-call]
        finally:
            gevent.killall(probes)
            events.request.remove_listener(self._on_request)  # type: ignore[no-untyped-call]
            # stopped, as Locust's own stop() leaves it: the quit that follows fires no second
            # test_stop, and another run on this worker starts from a stopped runner again
            self._runner_state(STATE_STOPPED)
        return self.data

    def _runner_state(self, state: str) -> None:
        runner = self.environment.runner
        if runner is not None:
            runner.update_state(state)

    def _schedule(self, group: Group) -> None:
        k = 0
        while True:
            due = self.start + self.share.due(k)
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

    def _stop_users(self) -> None:
        """Every user still kept gets its ``on_stop``, as Locust gives it (requests not judged)."""
        for queue in self.idle.values():
            while not queue.empty():
                self._on_stop(queue.get())

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
            gevent.sleep(self.share.progress_interval_s)
            now = time.perf_counter()
            self.emit(
                "progress",
                {
                    "worker": self.share.offset,
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
        arrival = Arrival(due, frozenset(), measured)
        current = gevent.getcurrent()
        arrival.ready[current] = [due]
        self.by_greenlet[current] = arrival
        self.active[k] = arrival
        try:
            user = self._acquire(cls, arrival)
            if user is not None:
                self._run_task(cls, user, arrival)
        finally:
            self.active.pop(k, None)
            for greenlet in arrival.ready:
                self.by_greenlet.pop(greenlet, None)

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
            self._on_stop(user)

    def _on_stop(self, user: User) -> None:
        try:
            user.on_stop()  # type: ignore[no-untyped-call]
        except gevent.GreenletExit:
            raise
        except Exception as error:
            self.data.exceptions[f"on_stop: {type(error).__name__}: {error}"[:300]] += 1

    def _acquire(self, cls: type[User], arrival: Arrival) -> User | None:
        """An idle user, a new one (its on_start run), or the next one freed at max_users."""
        queue = self.idle[cls]
        if not queue.empty():
            self._began(arrival)
            user: User = queue.get()
            return user
        if self.user_count >= self.share.max_users:
            if arrival.measured:
                self.data.waited_for_user += 1
            waited: User = queue.get()
            self._began(arrival, waited=True)
            return waited
        self._began(arrival)
        self.user_count += 1
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
                    error=f"no response within the drain timeout ({self.share.drain_timeout_s}s)",
                )
        group.kill(block=True, timeout=2)

    # -- measurement ------------------------------------------------------------------------

    def _arrival_of(self, greenlet: Any) -> tuple[Arrival | None, Any]:
        """The arrival a greenlet works for, and its nearest greenlet that has sent before.

        A greenlet the task spawned is found through gevent's ``spawning_greenlet`` chain.
        """
        arrival = self.by_greenlet.get(greenlet)
        if arrival is not None and greenlet in arrival.ready:
            return arrival, greenlet
        current = greenlet
        while current is not None:
            found = self.by_greenlet.get(current)
            if found is not None and current in found.ready:
                return found, current
            parent = getattr(current, "spawning_greenlet", None)
            current = parent() if parent is not None else None
        return None, None

    def _intended_send(self, arrival: Arrival, greenlet: Any, sender: Any, began: float) -> float:
        """When this request was meant to be sent; records the sender as ready again."""
        if sender is greenlet:
            return arrival.ready[greenlet][-1]
        # a spawned greenlet's first request: due when its spawner was last ready before it
        history = arrival.ready[sender]
        intended = next((t for t in reversed(history) if t <= began), history[0])
        arrival.ready[greenlet] = [intended]
        self.by_greenlet[greenlet] = arrival
        return intended

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
        greenlet = gevent.getcurrent()
        arrival, sender = self._arrival_of(greenlet)
        service_us = (response_time or 0.0) * 1000.0
        if arrival is None:  # a request outside any arrival (test_start hooks...): not judged
            return
        due = self._intended_send(arrival, greenlet, sender, now - service_us / 1e6)
        arrival.ready[greenlet].append(now)
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
            else response_error(response, self.share.error_status)
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
