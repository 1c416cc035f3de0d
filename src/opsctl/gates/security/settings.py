"""The ``security`` section of ``checks/definition-of-done.yaml``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from packaging.utils import canonicalize_name
from pydantic import Field, field_validator

from opsctl.config.models import StrictModel

Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")


class BanditSettings(StrictModel):
    """A bandit finding at or above both levels fails the gate."""

    severity: Level = Field(default="low", description="Minimum severity that fails the gate.")
    confidence: Level = Field(default="medium", description="Minimum confidence that fails it.")


class AcceptedFinding(StrictModel):
    """A known finding the team accepted, with why and until when.

    Matches an advisory by its id or any alias (pip-audit findings), or a bandit test id such
    as ``B602`` (every finding of that test). From the day after ``expires`` it no longer
    suppresses.
    """

    id: str = Field(
        min_length=1, description="Advisory id (or alias), or bandit test id (e.g. B602)."
    )
    reason: str = Field(min_length=1, description="Why it is accepted (required).")
    expires: dt.date = Field(description="Last day the acceptance holds (YYYY-MM-DD).")


_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class PrivatePackage(StrictModel):
    """A dependency that is not published on the public index (an internal package).

    It is never sent to a vulnerability service (the public one would learn its name, and
    knows nothing of it anyway) and is reported as private, not audited.
    """

    name: str = Field(min_length=1, description="Package name, as in the lock.")
    reason: str = Field(min_length=1, description="Where it comes from, who audits it.")

    @field_validator("name")
    @classmethod
    def _a_project_name(cls, value: str) -> str:
        if not _PROJECT_NAME.match(value):
            raise ValueError(f"{value!r} is not a package name (PEP 508)")
        return value

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reason must say something")
        return value

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)


class SecuritySettings(StrictModel):
    """Thresholds and inputs of the security gate."""

    bandit: BanditSettings = Field(default_factory=BanditSettings)
    dependencies: bool = Field(
        default=True, description="Audit service.requirements with pip-audit."
    )
    advisory_db: str | None = Field(
        default=None,
        description="Directory of OSV advisories (PyPA layout); empty: the online service.",
    )
    max_advisory_age_days: int | None = Field(
        default=None,
        ge=0,
        description="An advisory database older than this makes the gate incomplete.",
    )
    accepted: list[AcceptedFinding] = Field(default_factory=list)
    private: list[PrivatePackage] = Field(
        default_factory=list,
        description="Dependencies not on the public index: reported as private, never queried.",
    )
    timeout_s: float = Field(default=600, gt=0, description="Seconds each tool may run.")

    @field_validator("advisory_db", mode="before")
    @classmethod
    def _empty_is_online(cls, value: object) -> object:
        return None if value == "" else value
