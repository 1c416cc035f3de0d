"""What the parent tells each generator process, as JSON on its stdin (gevent-free)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from opsctl.load.engine_names import DEFAULT_ERROR_STATUS

# Every protocol line a generator writes on stdout starts with this, so that stray prints
# from scenario code cannot be mistaken for results.
MARKER = "@@opsctl-load "


@dataclass(frozen=True)
class GeneratorSpec:
    """One generator process's share of the run."""

    scenario: str  # absolute path of the Locust file
    host: str  # base URL of the service
    rate: float  # this generator's arrivals per second
    phase: float  # offset of this generator's schedule, in [0, 1) of its interval
    warmup_s: float
    duration_s: float
    max_users: int
    drain_timeout_s: float
    worker_index: int = 0
    import_root: str | None = None  # put on sys.path so the scenario can import the project
    progress_interval_s: float = 1.0
    error_status: int = DEFAULT_ERROR_STATUS  # a response with this status or above failed
    # Only for the coordinator of remote workers (opsctl.load.distributed):
    remote_workers: int = 0  # how many remote workers to wait for
    phase_step: float = 0.0  # phase offset between consecutive remote workers
    bind_host: str = "127.0.0.1"
    bind_port: int = 5557

    def to_line(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_line(cls, line: str) -> GeneratorSpec:
        data: dict[str, Any] = json.loads(line)
        return cls(**data)


def protocol_line(kind: str, payload: dict[str, Any]) -> str:
    return MARKER + json.dumps({"type": kind, **payload})


def parse_protocol_line(line: str) -> dict[str, Any] | None:
    if not line.startswith(MARKER):
        return None
    try:
        data = json.loads(line[len(MARKER) :])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
