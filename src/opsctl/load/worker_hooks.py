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

from opsctl.load.spec import FAILURE, HELLO, PROGRESS, RESULT, RUN, RunShare, WorkerIdentity

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


def identity(environment: Any) -> WorkerIdentity:
    """This worker's versions and the fingerprint of the files its user classes come from."""
    import locust

    from opsctl import __version__
    from opsctl.load.spec import scenario_fingerprint

    defining = (_defining_file(cls) for cls in environment.user_classes)
    files = sorted({name for name in defining if name is not None})
    return WorkerIdentity(
        opsctl=__version__,
        locust=locust.__version__,
        scenario_sha256=scenario_fingerprint([Path(name) for name in files]),
        scenario_files=tuple(Path(name).name for name in files),
        user_classes=tuple(sorted(cls.__name__ for cls in environment.user_classes)),
    )


def _defining_file(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    name = getattr(module, "__file__", None)
    return str(Path(name).resolve()) if name else None


def _answer_hello(environment: Any, msg: Any, **_: Any) -> None:
    environment.runner.send_message(HELLO, identity(environment).to_message())


def _run_share(environment: Any, msg: Any, **_: Any) -> None:
    from opsctl.load.engine import OpenModelEngine

    runner = environment.runner
    received = time.perf_counter()
    try:
        share = RunShare.from_message(msg.data)

        def relay(kind: str, payload: dict[str, Any]) -> None:
            runner.send_message(PROGRESS, payload)

        engine = OpenModelEngine(environment, share, relay)
        data = engine.run(received + share.start_in_s)
        runner.send_message(RESULT, {"worker": share.offset, "data": data.to_json()})
    except Exception as error:
        where = traceback.format_exc(limit=6)
        runner.send_message(
            FAILURE, {"message": f"{type(error).__name__}: {error}", "trace": where}
        )
