"""Remote generators over Locust's own master/worker protocol (ZeroMQ, port 5557 by default).

``python -m opsctl.load.distributed coordinator``: started by the launcher like a local
generator (same stdin/stdout protocol). It runs a Locust ``MasterRunner``, waits for the
expected remote workers, hands each its share of the schedule (scenario source included, so
workers need opsctl but not the repository), relays their progress and merges their
serialized histograms into one result.

``python -m opsctl.load.distributed worker --master HOST --port PORT`` (what
``opsctl load worker`` runs): a Locust ``WorkerRunner`` that runs the open-model engine for
every share it is sent. It stays connected until the master quits.

Both import Locust (gevent) first, so neither may be imported by the opsctl process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUN, PROGRESS, RESULT, FAILURE = "opsctl_run", "opsctl_progress", "opsctl_result", "opsctl_error"
WORKERS_TIMEOUT_S = 60.0


def _emit(kind: str, payload: dict[str, Any]) -> None:
    from opsctl.load.spec import protocol_line

    sys.stdout.write(protocol_line(kind, payload) + "\n")
    sys.stdout.flush()


def coordinator_main() -> int:
    import gevent
    import locust
    from locust.env import Environment

    from opsctl.load.histograms import RunData
    from opsctl.load.spec import GeneratorSpec

    hub = gevent.get_hub()
    spec_line = hub.threadpool.apply(sys.stdin.readline)
    spec = GeneratorSpec.from_line(spec_line)
    environment = Environment(user_classes=[], events=locust.events)
    runner = environment.create_master_runner(
        master_bind_host=spec.bind_host, master_bind_port=spec.bind_port
    )
    results: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    indices: dict[str, int] = {}

    def on_progress(environment: Any, msg: Any) -> None:
        _emit("progress", {**msg.data, "worker": indices.get(msg.node_id, -1)})

    def on_result(environment: Any, msg: Any) -> None:
        results[msg.node_id] = msg.data

    def on_failure(environment: Any, msg: Any) -> None:
        errors[msg.node_id] = str(msg.data.get("message"))

    runner.register_message(PROGRESS, on_progress)
    runner.register_message(RESULT, on_result)
    runner.register_message(FAILURE, on_failure)
    deadline = time.monotonic() + WORKERS_TIMEOUT_S
    while len(runner.clients.ready) < spec.remote_workers:
        if time.monotonic() > deadline:
            _emit("error", {"message": f"only {len(runner.clients.ready)} of "
                            f"{spec.remote_workers} remote workers joined within "
                            f"{WORKERS_TIMEOUT_S:.0f}s on port {spec.bind_port}"})  # fmt: skip
            runner.quit()
            return 3
        gevent.sleep(0.2)
    workers = [node.id for node in runner.clients.ready][: spec.remote_workers]
    _emit("ready", {"worker": spec.worker_index})
    start = json.loads(hub.threadpool.apply(sys.stdin.readline))["start"]
    source = Path(spec.scenario).read_text(encoding="utf-8")
    for offset, client_id in enumerate(workers):
        indices[client_id] = spec.worker_index + offset
        share = {**spec.__dict__, "phase": spec.phase + offset * spec.phase_step,
                 "worker_index": spec.worker_index + offset, "remote_workers": 0}  # fmt: skip
        message = {"spec": share, "source": source, "start_in_s": start - time.time()}
        runner.send_message(RUN, message, client_id=client_id)
    budget = start - time.time() + spec.warmup_s + spec.duration_s + spec.drain_timeout_s + 30
    deadline = time.monotonic() + budget
    while len(results) + len(errors) < len(workers) and time.monotonic() < deadline:
        gevent.sleep(0.2)
    merged = RunData(duration_s=spec.duration_s, warmup_s=spec.warmup_s)
    for client_id in workers:
        if client_id in results:
            merged.merge(RunData.from_json(results[client_id]))
        else:
            merged.failed_workers.append(
                f"remote worker {client_id}: {errors.get(client_id, 'no result in time')}"
            )
    runner.quit()
    payload = merged.to_json()
    payload["failed_workers"] = merged.failed_workers
    _emit("result", {"worker": spec.worker_index, "data": payload})
    return 0


def worker_main(master: str, port: int) -> int:
    import gevent
    import locust
    from locust.env import Environment

    from opsctl.load.engine import OpenModelEngine
    from opsctl.load.spec import GeneratorSpec

    environment = Environment(user_classes=[], events=locust.events)
    runner = environment.create_worker_runner(master, port)
    folder = tempfile.TemporaryDirectory(prefix="opsctl-load-")

    def run_share(environment: Any, msg: Any) -> None:
        try:
            scenario = Path(folder.name) / "scenario.py"
            scenario.write_text(msg.data["source"], encoding="utf-8")
            spec = GeneratorSpec(**{**msg.data["spec"], "scenario": str(scenario)})

            def relay(kind: str, payload: dict[str, Any]) -> None:
                runner.send_message(PROGRESS, payload)

            engine = OpenModelEngine(spec, relay)
            data = engine.run(time.time() + float(msg.data["start_in_s"]))
            runner.send_message(RESULT, data.to_json())
        except Exception as error:
            runner.send_message(FAILURE, {"message": f"{type(error).__name__}: {error}"})

    runner.register_message(RUN, run_share, concurrent=True)
    print(f"opsctl load worker: connected to {master}:{port}, waiting for work", flush=True)
    try:
        runner.greenlet.join()
    finally:
        folder.cleanup()
    gevent.sleep(0)
    return 0


def main(argv: list[str] | None = None) -> int:
    import locust  # noqa: F401  (monkey-patches before anything opens sockets)

    parser = argparse.ArgumentParser(prog="python -m opsctl.load.distributed")
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("coordinator")
    worker = roles.add_parser("worker")
    worker.add_argument("--master", required=True)
    worker.add_argument("--port", type=int, default=5557)
    args = parser.parse_args(argv)
    if args.role == "coordinator":
        return coordinator_main()
    return worker_main(args.master, args.port)


if __name__ == "__main__":
    sys.exit(main())
