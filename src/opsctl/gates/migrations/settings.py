"""The ``migrations`` section of ``checks/definition-of-done.yaml`` (documented in
``docs/migrations-gate.md``)."""

from __future__ import annotations

import re

from pydantic import Field, PositiveInt, field_validator

from opsctl.config.durations import Duration
from opsctl.config.models import StrictModel

_RULE_ID = re.compile(r"^MIG\d{3}$")


class LintSettings(StrictModel):
    """Which safety-lint rules to ignore, or to report without failing."""

    ignore: list[str] = Field(default_factory=list, description="Rule ids not checked at all.")
    warn: list[str] = Field(default_factory=list, description="Rule ids reported as warnings.")

    @field_validator("ignore", "warn")
    @classmethod
    def _rule_ids(cls, value: list[str]) -> list[str]:
        for rule in value:
            if not _RULE_ID.match(rule):
                raise ValueError(f"'{rule}' is not a rule id like MIG001 (docs/migrations-gate.md)")
        return value


class MigrationsSettings(StrictModel):
    """Thresholds and options of the migrations gate."""

    drift: bool = Field(default=True, description="Compare the models' metadata with the schema.")
    lint: LintSettings = Field(default_factory=LintSettings)
    data: dict[str, PositiveInt] = Field(
        default_factory=dict,
        description="Rows seeded per table before each step; they must survive it.",
    )
    allow: list[str] = Field(
        default_factory=list,
        description="Drift allowances: glob patterns of object descriptions, e.g. "
        "'index ix_legacy_* on tasks', reported as accepted instead of failing.",
    )
    models: str | None = Field(
        default=None,
        description="Package whose modules must all be imported by the metadata "
        "(default: the metadata's module, when it is a package).",
    )
    # A migration that blocks (a lock another session holds, a long sleep, a huge backfill)
    # must not hang `opsctl verify`: each bound makes the gate `incomplete`, naming the step.
    timeout: Duration = Field(
        default=600.0,
        gt=0,
        description="Longest the database checks may take altogether (e.g. 10m).",
    )
    statement_timeout: Duration = Field(
        default=60.0,
        gt=0,
        description="Longest one SQL statement may run on a throwaway database (e.g. 60s).",
    )
    lock_timeout: Duration = Field(
        default=10.0,
        gt=0,
        description="Longest one statement may wait for a lock (e.g. 10s).",
    )
