"""What the master and the workers tell each other (gevent-free, shared by every side).

Two channels. Between opsctl and its master subprocess (:mod:`opsctl.load.master`): one JSON
line each way on stdin/stdout, behind :data:`MARKER`. Between the master and the workers
(stock ``locust --worker`` processes, any machine): Locust's own ZeroMQ messages, with the
custom types below, registered on the workers by :mod:`opsctl.load.worker_hooks`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opsctl.load.engine_names import DEFAULT_ERROR_STATUS

# Every line the master writes on stdout starts with this, so that stray prints from scenario
# code cannot be mistaken for results.
MARKER = "@@opsctl-load "

#: How long the master waits for every worker's test_start hooks (seeding, log-ins), at least.
PREPARE_TIMEOUT_S = 120.0

# Locust message types (master -> worker: HELLO, RUN; worker -> master: the rest).
HELLO = "opsctl_hello"  # the master asks; the worker answers with its WorkerIdentity
RUN = "opsctl_run"  # a RunShare: the worker fires test_start, then answers PREPARED
PREPARED = "opsctl_prepared"
START = "opsctl_start"  # {"start_in_s": ...}: when the prepared schedule starts
PROGRESS = "opsctl_progress"
RESULT = "opsctl_result"  # the worker's serialized RunData
FAILURE = "opsctl_error"


@dataclass(frozen=True)
class RunShare:
    """One worker's share of the schedule, sent by the master when the run starts."""

    host: str  # base URL of the service
    total_rate: float  # arrivals per second of the whole run, every worker together
    stride: int  # how many workers share the schedule
    offset: int  # this worker's place among them: it runs arrivals offset, offset + stride...
    warmup_s: float
    duration_s: float
    max_users: int
    drain_timeout_s: float
    progress_interval_s: float = 1.0
    error_status: int = DEFAULT_ERROR_STATUS  # a response with this status or above failed

    @property
    def rate(self) -> float:
        """This worker's arrivals per second."""
        return self.total_rate / self.stride

    def due(self, k: int) -> float:
        """Seconds from the start at which this worker's ``k``-th arrival is due.

        Arrival ``j`` of the whole run is due at ``j / total_rate`` on whichever worker runs
        it, computed the same way everywhere: the same schedule, split or not.
        """
        return (k * self.stride + self.offset) / self.total_rate

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> RunShare:
        return cls(**data)


@dataclass(frozen=True)
class WorkerIdentity:
    """What a worker answers to HELLO: the master refuses a run whose workers differ from it."""

    opsctl: str
    locust: str
    scenario_sha256: str  # of the files that define the worker's user classes
    scenario_files: tuple[str, ...] = ()
    user_classes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # --tags/--exclude-tags it was started with ("-" for excluded)

    def to_message(self) -> dict[str, Any]:
        data = asdict(self)
        data["scenario_files"] = list(self.scenario_files)
        data["user_classes"] = list(self.user_classes)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> WorkerIdentity:
        return cls(
            opsctl=str(data.get("opsctl")),
            locust=str(data.get("locust")),
            scenario_sha256=str(data.get("scenario_sha256")),
            scenario_files=tuple(str(item) for item in data.get("scenario_files", ())),
            user_classes=tuple(str(item) for item in data.get("user_classes", ())),
            tags=tuple(str(item) for item in data.get("tags", ())),
        )


@dataclass(frozen=True)
class MasterSpec:
    """What opsctl tells its master subprocess: the whole run, before it is split."""

    scenario: str  # absolute path of the Locust file
    host: str
    rate: float
    warmup_s: float
    duration_s: float
    max_users: int
    drain_timeout_s: float
    expect_workers: int  # every worker, local and joining from elsewhere
    bind_host: str = "127.0.0.1"
    bind_port: int = 0  # 0: any free port (the master reports the one it got)
    expect_workers_max_wait_s: float = 60.0
    import_root: str | None = None  # put on sys.path so the scenario can import the project
    error_status: int = DEFAULT_ERROR_STATUS

    def to_line(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_line(cls, line: str) -> MasterSpec:
        data: dict[str, Any] = json.loads(line)
        return cls(**data)


def parse_bind(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:5557``, ``:5557`` for loopback) as a host and a port number.

    Raises ValueError when there is no port, or it is not one.
    """
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: give host:port")
    return host.strip("[]") or "127.0.0.1", int(port)


def scenario_fingerprint(files: list[Path]) -> str:
    """One SHA-256 over the contents of the files that define the user classes.

    By content, not path: a worker checks out the repository wherever it likes.
    """
    digests = sorted(hashlib.sha256(path.read_bytes()).hexdigest() for path in set(files))
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


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
