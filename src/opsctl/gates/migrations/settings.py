"""The ``migrations`` section of ``checks/definition-of-done.yaml``."""

from __future__ import annotations

from pydantic import Field

from opsctl.config.models import StrictModel


class LintSettings(StrictModel):
    """Which safety-lint rules to ignore, or to report without failing."""

    ignore: list[str] = Field(default_factory=list, description="Rule ids not checked at all.")
    warn: list[str] = Field(default_factory=list, description="Rule ids reported as warnings.")


class MigrationsSettings(StrictModel):
    """Thresholds and options of the migrations gate."""

    drift: bool = Field(default=True, description="Compare the models' metadata with the schema.")
    lint: LintSettings = Field(default_factory=LintSettings)
    data: dict[str, int] = Field(
        default_factory=dict,
        description="Rows seeded per table before each step; they must survive it.",
    )
