"""What a stock ``locust --worker`` needs to run opsctl's open model: two message handlers.

Registered by importing :mod:`opsctl.load` in a Locust process (a scenario that imports
``opsctl.load`` or :class:`opsctl.load.graphql.GraphQLUser` does), or by the one-line
locustfile :data:`HOOKS_LOCUSTFILE` that opsctl adds to the workers it starts itself. On
``events.init`` a ``WorkerRunner`` gets two handlers:

- ``opsctl_hello``: answer with this worker's :class:`~opsctl.load.spec.WorkerIdentity`
  (opsctl and Locust versions, the SHA-256 of its scenario files), so that the master refuses
  a run whose workers run another file or version;
- ``opsctl_run``: run the :class:`~opsctl.load.spec.RunShare` with
  :class:`~opsctl.load.engine.OpenModelEngine` in this worker's own environment, relay
  progress each second, and send the serialized histograms (or the error) at the end.

Under plain Locust (standalone, or a stock master) nothing changes: no opsctl message ever
comes, and the scenario runs as Locust runs it (closed model, Locust's own report).
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any

from opsctl.load.spec import (
    FAILURE,
    HELLO,
    PREPARED,
    PROGRESS,
    RESULT,
    RUN,
    START,
    RunShare,
    WorkerIdentity,
)

#: How long a prepared worker waits for the master's START before it gives the run up.
START_TIMEOUT_S = 600.0

#: A locustfile with no user class that only imports this module: ``-f scenario.py,<this>``.
HOOKS_LOCUSTFILE = Path(__file__).resolve().parent / "locustfile" / "opsctl_worker_hooks.py"

_REGISTERED_ON: list[Any] = []  # the events object the init listener is on (once per process)


def register() -> None:
    """Add the ``events.init`` listener to Locust's global events (idempotent)."""
    from locust import events

    if any(registered is events for registered in _REGISTERED_ON):
        return
    events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
    _REGISTERED_ON.append(events)


def _on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    from locust.runners import WorkerRunner

    if not isinstance(runner, WorkerRunner):
        return
    runner.register_message(HELLO, _answer_hello)
    runner.register_message(RUN, _run_share, concurrent=True)
    runner.register_message(START, _start)


def identity(environment: Any) -> WorkerIdentity:
    """This worker's versions and the fingerprint of the files its user classes come from."""
    import locust

    from opsctl import __version__
    from opsctl.load.spec import scenario_fingerprint

    defining = (_defining_file(cls) for cls in environment.user_classes)
    files = sorted({name for name in defining if name is not None})
    options = environment.parsed_options
    tags = [*(getattr(options, "tags", None) or [])]
    tags += [f"-{tag}" for tag in getattr(options, "exclude_tags", None) or []]
    return WorkerIdentity(
        opsctl=__version__,
        locust=locust.__version__,
        scenario_sha256=scenario_fingerprint([Path(name) for name in files]),
        scenario_files=tuple(Path(name).name for name in files),
        user_classes=tuple(sorted(cls.__name__ for cls in environment.user_classes)),
        tags=tuple(sorted(tags)),
    )


def _defining_file(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    name = getattr(module, "__file__", None)
    return str(Path(name).resolve()) if name else None


def _answer_hello(environment: Any, msg: Any, **_: Any) -> None:
    environment.runner.send_message(HELLO, identity(environment).to_message())


_STARTS: list[Any] = []  # the AsyncResult the prepared run waits on (one run at a time)


def _start(environment: Any, msg: Any, **_: Any) -> None:
    if _STARTS:
        _STARTS[-1].set((time.perf_counter(), float(msg.data["start_in_s"])))


def _run_share(environment: Any, msg: Any, **_: Any) -> None:
    from gevent.event import AsyncResult

    from opsctl.load.engine import OpenModelEngine

    runner = environment.runner
    started: AsyncResult = AsyncResult()
    _STARTS.append(started)
    try:
        share = RunShare.from_message(msg.data)

        def relay(kind: str, payload: dict[str, Any]) -> None:
            runner.send_message(PROGRESS, payload)

        engine = OpenModelEngine(environment, share, relay)
        engine.prepare()
        runner.send_message(PREPARED, {"worker": share.offset})
        start = started.wait(START_TIMEOUT_S)
        if start is None:
            raise RuntimeError(f"no start from the master within {START_TIMEOUT_S:g}s")
        received, start_in_s = start
        data = engine.run(received + start_in_s)
        runner.send_message(RESULT, {"worker": share.offset, "data": data.to_json()})
    except Exception as error:
        where = traceback.format_exc(limit=6)
        runner.send_message(
            FAILURE, {"message": f"{type(error).__name__}: {error}", "trace": where}
        )
    finally:
        _STARTS.remove(started)
