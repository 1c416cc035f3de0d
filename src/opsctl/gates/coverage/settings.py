"""The ``coverage`` section of ``checks/definition-of-done.yaml``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from opsctl.config.models import StrictModel

Percent = Annotated[float, Field(ge=0, le=100)]


class CoverageSettings(StrictModel):
    """Thresholds of the coverage gate, in percent of lines and branches as coverage.py counts."""

    total: Percent | None = Field(
        default=None, description="Minimum coverage of all of service.source (lines + branches)."
    )
    paths: dict[str, Percent] = Field(
        default_factory=dict,
        description="Glob -> minimum coverage of the files it matches, taken together.",
    )
    omit: list[str] = Field(
        default_factory=list,
        description="Globs of files under service.source not judged (Alembic revisions, which"
        " the migrations gate judges); every file they leave out is reported.",
    )
    diff: Percent | None = Field(
        default=None, description="Minimum coverage of the lines changed since --base."
    )
    base: str | None = Field(
        default=None,
        description="Default --base ref (default: the merge base with main, then origin/main).",
    )
    worst_files: int = Field(
        default=5, ge=0, description="How many of the least covered files the report names."
    )
    migrate: bool = Field(
        default=False,
        description="Migrate the throwaway database to head (service.migrations, through env.py)"
        " before the tests, for tests that expect the schema to be there.",
    )
    timeout_s: float = Field(
        default=1800, gt=0, description="Seconds the test command may run before the gate stops."
    )
