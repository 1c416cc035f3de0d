"""A generator process: ``python -m opsctl.load.worker`` (started by the launcher).

Protocol, one JSON line each way (stdout lines carry :data:`opsctl.load.spec.MARKER`):
stdin ``GeneratorSpec`` -> stdout ``ready`` -> stdin ``{"start": epoch}`` -> stdout
``progress`` lines -> stdout ``result`` (the serialized :class:`RunData`) or ``error``.
Locust is imported here first, so its gevent monkey-patching stays inside this process.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any


def _emit(kind: str, payload: dict[str, Any]) -> None:
    from opsctl.load.spec import protocol_line

    sys.stdout.write(protocol_line(kind, payload) + "\n")
    sys.stdout.flush()


def main() -> int:
    import locust  # noqa: F401  (monkey-patches before anything else opens sockets)

    from opsctl.load.spec import GeneratorSpec

    try:
        spec = GeneratorSpec.from_line(sys.stdin.readline())
        if spec.import_root and spec.import_root not in sys.path:
            sys.path.insert(0, spec.import_root)
        from opsctl.load.engine import OpenModelEngine

        engine = OpenModelEngine(spec, _emit)
    except Exception as error:
        _emit("error", {"message": f"{type(error).__name__}: {error}", "trace": _trace()})
        return 2
    _emit("ready", {"worker": spec.worker_index})
    line = sys.stdin.readline()
    if not line:
        return 1  # the parent went away
    try:
        data = engine.run(float(json.loads(line)["start"]))
    except Exception as error:
        _emit("error", {"message": f"{type(error).__name__}: {error}", "trace": _trace()})
        return 3
    _emit("result", {"worker": spec.worker_index, "data": data.to_json()})
    return 0


def _trace() -> str:
    return traceback.format_exc(limit=8)


if __name__ == "__main__":
    sys.exit(main())
