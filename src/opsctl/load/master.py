"""The master of a load run: ``python -m opsctl.load.master``, started by the launcher.

A Locust ``MasterRunner`` that stock ``locust --worker`` processes join, on this machine or
any other. It loads the scenario as Locust does (so ``events.init``, ``test_start``,
``test_stop`` and ``quitting`` listeners run here as on a Locust master), waits a bounded time
for the expected workers, asks each who it is (refusing a worker with another opsctl or Locust
release, another scenario file, a class selection or tags), sends each its share of the
schedule and waits until each has run its ``test_start`` hooks, then gives them one start
time, relays their progress and hands their serialized histograms to opsctl. On SIGTERM it
sends Locust's ``quit`` to every worker before it exits. A worker that stops answering (no
heartbeat, no progress) is named as lost and its partial data is left out, never merged as if
whole.

Talks to opsctl with JSON lines (:mod:`opsctl.load.spec`): stdin ``MasterSpec`` -> stdout
``listening`` (the port) -> ``ready`` (the workers joined and prepared) -> stdin
``{"start": epoch}`` -> stdout ``progress`` ... -> ``result`` (each worker's data and the lost
ones) or ``error``.
Imports Locust (gevent) first: never import this module in the opsctl process.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from opsctl.load.spec import (
    FAILURE,
    HELLO,
    PREPARE_TIMEOUT_S,
    PREPARED,
    PROGRESS,
    RESULT,
    RUN,
    START,
    MasterSpec,
    RunShare,
    WorkerIdentity,
    protocol_line,
)

#: A worker that sent no progress for this long while the run was on is lost.
STALE_S = 10.0
HELLO_RETRY_S = 2.0
RESULT_GRACE_S = 30.0


def emit(kind: str, payload: dict[str, Any]) -> None:
    sys.stdout.write(protocol_line(kind, payload) + "\n")
    sys.stdout.flush()


class RunRefusedError(Exception):
    """The run cannot start: workers missing, or not running what the master runs."""


class Coordinator:
    """The workers of one run, as the master sees them through Locust's messages."""

    def __init__(self, runner: Any, spec: MasterSpec, mine: WorkerIdentity) -> None:
        self.runner = runner
        self.spec = spec
        self.mine = mine
        self.identities: dict[str, WorkerIdentity] = {}
        self.asked: dict[str, float] = {}
        self.workers: list[str] = []  # client ids, by worker index
        self.results: dict[str, dict[str, Any]] = {}
        self.lost: dict[str, str] = {}
        self.last_seen: dict[str, float] = {}
        self.prepared: set[str] = set()
        runner.register_message(HELLO, self._on_hello)
        runner.register_message(PREPARED, self._on_prepared)
        runner.register_message(PROGRESS, self._on_progress)
        runner.register_message(RESULT, self._on_result)
        runner.register_message(FAILURE, self._on_failure)

    # -- messages ---------------------------------------------------------------------------

    def _on_hello(self, environment: Any, msg: Any, **_: Any) -> None:
        self.identities[msg.node_id] = WorkerIdentity.from_message(msg.data or {})

    def _on_prepared(self, environment: Any, msg: Any, **_: Any) -> None:
        self.prepared.add(msg.node_id)

    def _on_progress(self, environment: Any, msg: Any, **_: Any) -> None:
        if msg.node_id in self.workers and msg.node_id not in self.lost:
            self.last_seen[msg.node_id] = time.monotonic()
            emit("progress", {**msg.data, "worker": self.workers.index(msg.node_id)})

    def _on_result(self, environment: Any, msg: Any, **_: Any) -> None:
        if msg.node_id in self.workers and msg.node_id not in self.lost:
            self.results[msg.node_id] = msg.data["data"]

    def _on_failure(self, environment: Any, msg: Any, **_: Any) -> None:
        if msg.node_id in self.workers and msg.node_id not in self.results:
            self.lost[msg.node_id] = f"failed: {msg.data.get('message')}"

    # -- joining ----------------------------------------------------------------------------

    def name(self, client_id: str) -> str:
        index = self.workers.index(client_id) if client_id in self.workers else "?"
        return f"worker {index} ({client_id})"

    def wait_for_workers(self) -> list[str]:
        """The first ``expect_workers`` workers that joined and run what the master runs."""
        import gevent

        deadline = time.monotonic() + self.spec.expect_workers_max_wait_s
        while True:
            joined = [node.id for node in self.runner.clients.ready]
            for client_id in joined:
                if client_id not in self.identities and (
                    time.monotonic() - self.asked.get(client_id, -1e9) > HELLO_RETRY_S
                ):
                    self.asked[client_id] = time.monotonic()
                    self.runner.send_message(HELLO, {}, client_id=client_id)
            for client_id in joined:
                identity = self.identities.get(client_id)
                if identity is not None:
                    self._check(client_id, identity)
            answered = [client_id for client_id in joined if client_id in self.identities]
            if len(answered) >= self.spec.expect_workers:
                self.workers = answered[: self.spec.expect_workers]
                return self.workers
            if time.monotonic() > deadline:
                raise RunRefusedError(self._missing(joined, answered))
            gevent.sleep(0.1)

    def _check(self, client_id: str, identity: WorkerIdentity) -> None:
        if identity.opsctl != self.mine.opsctl:
            raise RunRefusedError(
                f"worker {client_id} runs opsctl {identity.opsctl}, the master {self.mine.opsctl}:"
                " install the same version on every load generator"
            )
        if identity.locust.split(".")[:2] != self.mine.locust.split(".")[:2]:
            raise RunRefusedError(
                f"worker {client_id} runs Locust {identity.locust}, the master {self.mine.locust}:"
                " install the same Locust release on every load generator"
            )
        if identity.tags:
            raise RunRefusedError(
                f"worker {client_id} was started with --tags/--exclude-tags "
                f"({', '.join(identity.tags)}): opsctl's runs use every task; drop them"
            )
        if identity.scenario_sha256 != self.mine.scenario_sha256:
            raise RunRefusedError(
                f"worker {client_id} runs another scenario: {', '.join(identity.scenario_files)}"
                f" sha256 {identity.scenario_sha256[:12]}, the master's "
                f"{', '.join(self.mine.scenario_files)} sha256 {self.mine.scenario_sha256[:12]}"
                ": workers run the scenario file they have, so deploy the same file to each"
            )
        if identity.user_classes != self.mine.user_classes:
            raise RunRefusedError(
                f"worker {client_id} runs the user classes {', '.join(identity.user_classes)}"
                f", the master {', '.join(self.mine.user_classes)}: start it without a class "
                "selection"
            )

    def _missing(self, joined: list[str], answered: list[str]) -> str:
        wanted = self.spec.expect_workers
        where = f"{self.spec.bind_host}:{self.runner.server.port}"
        text = (
            f"only {len(answered)} of {wanted} load workers joined within "
            f"{self.spec.expect_workers_max_wait_s:g}s on {where}"
        )
        silent = [client_id for client_id in joined if client_id not in answered]
        if silent:
            text += (
                f"; {len(silent)} joined but did not answer opsctl ({', '.join(silent)}): "
                "their scenario must import opsctl.load (or add its hooks locustfile to -f)"
            )
        return text

    # -- the run ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Send each worker its share; wait until every one has run its ``test_start`` hooks."""
        import gevent

        total = len(self.workers)
        for index, client_id in enumerate(self.workers):
            share = RunShare(
                host=self.spec.host,
                total_rate=self.spec.rate,
                stride=total,
                offset=index,
                warmup_s=self.spec.warmup_s,
                duration_s=self.spec.duration_s,
                max_users=self.spec.max_users,
                drain_timeout_s=self.spec.drain_timeout_s,
                error_status=self.spec.error_status,
            )
            self.runner.send_message(RUN, share.to_message(), client_id=client_id)
        deadline = time.monotonic() + max(PREPARE_TIMEOUT_S, self.spec.expect_workers_max_wait_s)
        while not all(c in self.prepared or c in self.lost for c in self.workers):
            for client_id in self.workers:
                if self.runner.clients.get(client_id) is None and client_id not in self.lost:
                    self.lost[client_id] = "left the run before it started"
            if time.monotonic() > deadline:
                late = [self.name(c) for c in self.workers if c not in self.prepared]
                raise RunRefusedError(
                    f"{', '.join(late)} did not finish its test_start hooks in time"
                )
            gevent.sleep(0.05)
        if self.lost:
            raise RunRefusedError(
                "; ".join(f"{self.name(c)} {why}" for c, why in self.lost.items())
            )

    def start(self, start_epoch: float) -> None:
        """Tell every prepared worker when the schedule starts (relative: no shared clock)."""
        for client_id in self.workers:
            start_in_s = start_epoch - time.time()
            self.last_seen[client_id] = time.monotonic() + max(0.0, start_in_s)
            self.runner.send_message(START, {"start_in_s": start_in_s}, client_id=client_id)

    def watch(self, start_epoch: float) -> None:
        """Until every worker sent its result or is lost (bounded by the run's own length)."""
        import gevent
        from locust.runners import STATE_MISSING

        spec = self.spec
        length = spec.warmup_s + spec.duration_s + spec.drain_timeout_s + RESULT_GRACE_S
        deadline = time.monotonic() + max(0.0, start_epoch - time.time()) + length
        while any(c not in self.results and c not in self.lost for c in self.workers):
            now = time.monotonic()
            for client_id in self.workers:
                if client_id in self.results or client_id in self.lost:
                    continue
                node = self.runner.clients.get(client_id)
                elapsed = time.time() - start_epoch
                if node is None:
                    self.lost[client_id] = f"left the run {elapsed:.1f}s in (its process ended)"
                elif node.state == STATE_MISSING:
                    self.lost[client_id] = f"stopped sending heartbeats {elapsed:.1f}s in"
                elif now - self.last_seen.get(client_id, now) > STALE_S:
                    self.lost[client_id] = f"sent no progress for {STALE_S:g}s, {elapsed:.1f}s in"
                elif now > deadline:
                    self.lost[client_id] = "sent no result before the run's deadline"
            gevent.sleep(0.2)

    def outcome(self) -> dict[str, Any]:
        return {
            "workers": [
                {"index": index, "id": client_id, "data": self.results[client_id]}
                for index, client_id in enumerate(self.workers)
                if client_id in self.results
            ],
            "lost": [
                f"{self.name(client_id)} {why}: its partial data is left out"
                for client_id, why in self.lost.items()
            ],
        }


def _parsed_options(spec: MasterSpec) -> Any:
    """Locust's options as its CLI would set them for this master (no config files read)."""
    from locust import argument_parser

    parser = argument_parser.get_empty_argument_parser(default_config_files=[])
    argument_parser.setup_parser_arguments(parser)  # type: ignore[no-untyped-call]
    options = parser.parse(args=[])
    options.locustfile = spec.scenario
    options.host = spec.host
    options.master = True
    # not headless: a headless master quits for good when its last worker leaves, and a
    # worker may leave (a pod restarted) while the master still waits for others to join
    options.headless = False
    options.expect_workers = spec.expect_workers
    options.master_bind_host = spec.bind_host
    options.master_bind_port = spec.bind_port
    return options


def _quit_on_sigterm(runner: Any) -> None:
    """opsctl stops the master with SIGTERM (Ctrl-C, a refusal): tell every worker to quit first.

    Without it, workers on other machines would keep loading the service until Locust's own
    60 s master-heartbeat timeout.
    """
    import os
    import signal

    import gevent

    def quit_and_exit() -> None:
        runner.quit()  # Locust's "quit" to every worker, then 0.5 s for it to leave
        os._exit(3)

    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(quit_and_exit))


def _read_line() -> str:
    import gevent

    line: str = gevent.get_hub().threadpool.apply(sys.stdin.readline)
    return line


def main() -> int:
    import locust  # noqa: F401  (monkey-patches before anything opens sockets)
    from locust import events
    from locust.env import Environment
    from locust.util.load_locustfile import load_locustfile

    from opsctl.load.engine import check_user_classes
    from opsctl.load.worker_hooks import identity

    spec = MasterSpec.from_line(_read_line())
    if spec.import_root and spec.import_root not in sys.path:
        sys.path.insert(0, spec.import_root)
    try:
        classes, _shapes = load_locustfile(str(Path(spec.scenario)))
        check_user_classes(list(classes.values()), spec.scenario)
        environment = Environment(
            user_classes=list(classes.values()),
            host=spec.host,
            events=events,
            parsed_options=_parsed_options(spec),
        )
        runner = environment.create_master_runner(spec.bind_host, spec.bind_port)
    except Exception as error:
        emit("error", {"message": f"{type(error).__name__}: {error}"})
        return 2
    runner.master_bind_port = runner.server.port  # a reconnect binds the same port again
    _quit_on_sigterm(runner)
    events.init.fire(environment=environment, runner=runner, web_ui=None)  # type: ignore[no-untyped-call]
    emit("listening", {"port": runner.server.port})
    coordinator = Coordinator(runner, spec, identity(environment))
    try:
        workers = coordinator.wait_for_workers()
    except RunRefusedError as refused:
        emit("error", {"message": str(refused), "refused": True})
        runner.quit()
        return 3
    events.test_start.fire(environment=environment)  # type: ignore[no-untyped-call]
    try:
        coordinator.prepare()
    except RunRefusedError as refused:
        emit("error", {"message": str(refused)})
        runner.quit()
        return 3
    emit("ready", {"workers": workers})
    line = _read_line()
    if not line:
        runner.quit()
        return 1  # opsctl went away
    start_epoch = float(json.loads(line)["start"])
    coordinator.start(start_epoch)
    coordinator.watch(start_epoch)
    events.test_stop.fire(environment=environment)  # type: ignore[no-untyped-call]
    emit("result", coordinator.outcome())
    events.quitting.fire(environment=environment, reverse=True)  # type: ignore[no-untyped-call]
    runner.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
