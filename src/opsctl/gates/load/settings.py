"""The ``load`` section of ``checks/definition-of-done.yaml``.

Durations are written ``500ms``, ``10s``, ``2m`` or as a number of seconds.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, field_validator, model_validator

from opsctl.config.durations import parse_duration
from opsctl.config.models import StrictModel
from opsctl.load.engine_names import DEFAULT_ERROR_STATUS

DEFAULT_MAX_GENERATOR_LAG_MS = 100.0
#: One freeze of a generator (or one arrival begun this late with a user free) above this:
#: invalid. Far above scheduling noise on a busy machine, far below a GC or swap pause.
DEFAULT_MAX_GENERATOR_STALL_MS = 1000.0


class SlaMatch(StrictModel):
    """Which operations an SLA applies to: one operation, or every operation of a tag.

    An operation is a GraphQL operationName, or a REST endpoint as the engine names it:
    ``GET /items/{id}`` (the request's ``name=``, or its method and raw path).
    """

    tag: str | None = Field(default=None, description="Locust task tag, e.g. simple or complex.")
    operation: str | None = Field(
        default=None, description="GraphQL operationName, or a REST endpoint: GET /items/{id}."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SlaMatch:
        if (self.tag is None) == (self.operation is None):
            raise ValueError("give exactly one of 'tag' or 'operation'")
        return self

    def describe(self) -> str:
        return f"operation {self.operation}" if self.operation else f"tag {self.tag}"


class Sla(StrictModel):
    """Latency and error budget for the operations it matches (each operation on its own)."""

    match: SlaMatch
    p95_ms: float = Field(gt=0, description="P95 latency must be below this (ms).")
    p99_ms: float | None = Field(default=None, gt=0, description="P99 must be below this (ms).")
    # below 1: a budget of 100 % errors would pass a service that is down
    max_error_rate: float = Field(
        default=0.01, ge=0, lt=1, description="Largest share of failed requests (0.01 = 1 %)."
    )
    min_samples: int | None = Field(
        default=None,
        ge=1,
        description="Overrides the section's min_samples for these operations (rare ones).",
    )


class LoadSettings(StrictModel):
    """Thresholds and run parameters of the load gate."""

    scenario: str = Field(description="Locust file, relative to the repository root.")
    rate: float = Field(gt=0, description="Target arrivals per second (open model).")
    warmup: float = Field(default=10.0, ge=0, description="Excluded from the verdict (duration).")
    duration: float = Field(default=60.0, gt=0, description="Measured window (duration).")
    min_samples: int = Field(default=1000, ge=1, description="Per operation with an SLA.")
    workers: int = Field(
        default=1, ge=0, le=64, description="Local worker processes (stock Locust workers)."
    )
    slas: list[Sla] = Field(min_length=1, description="SLAs per operation or per tag.")
    expect_workers: int = Field(
        default=0,
        ge=0,
        le=256,
        validation_alias=AliasChoices("expect_workers", "remote_workers"),
        description="Stock `locust --worker`s joining from other machines, on top of `workers`.",
    )
    expect_workers_max_wait: float = Field(
        default=60.0, gt=0, description="How long to wait for every worker to join (duration)."
    )
    master_bind: str | None = Field(
        default=None,
        pattern=r"^(\[[0-9a-fA-F:]+\]|[^\s:\[\]]*):\d{1,5}$",
        description="host:port the master listens on (default 127.0.0.1, port 5557 when "
        "workers join from elsewhere, else a free one; 0.0.0.0:5557 to accept other machines).",
    )
    server_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Uvicorn workers when opsctl starts the service (local).",
    )
    max_rate_per_worker: float = Field(
        default=400.0,
        gt=0,
        description="Highest rate one generator process is trusted to sustain (benchmarks/).",
    )
    max_generator_lag_ms: float = Field(
        default=DEFAULT_MAX_GENERATOR_LAG_MS,
        gt=0,
        description="P99 event-loop lag of a generator above this: invalid.",
    )
    max_generator_stall_ms: float = Field(
        default=DEFAULT_MAX_GENERATOR_STALL_MS,
        gt=0,
        description="Longest single generator freeze or start delay before the run is invalid.",
    )
    max_users: int = Field(
        default=1000, ge=1, description="Concurrent in-flight arrivals per generator process."
    )
    drain_timeout: float = Field(
        default=10.0, gt=0, description="How long in-flight requests may finish after the window."
    )
    error_status: int = Field(
        default=DEFAULT_ERROR_STATUS,
        ge=100,
        le=599,
        description="A response with this HTTP status or above is a failed request "
        "(e.g. 500 when 4xx answers are expected outcomes).",
    )
    server_metric: str = Field(
        default="http_request_duration_seconds",
        description="Prometheus histogram on the service's /metrics for the server-side P95.",
    )
    seed_scale: str = Field(default="large", description="Seed scale for local runs.")
    service_environment: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment variables of the service opsctl starts on local "
        "(e.g. rate limits sized for one load generator IP).",
    )

    @field_validator(
        "warmup", "duration", "drain_timeout", "expect_workers_max_wait", mode="before"
    )
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _some_worker(self) -> LoadSettings:
        if self.workers + self.expect_workers < 1:
            raise ValueError("workers: 0 needs expect_workers of 1 or more (someone must load)")
        return self

    @property
    def generators(self) -> int:
        """Every worker of the run: the local ones and those joining from elsewhere."""
        return self.workers + self.expect_workers
