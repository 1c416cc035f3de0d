"""The shape of ``checks/definition-of-done.yaml``: one optional section per gate.

A section that is present turns its gate on for ``opsctl verify`` without gate names; an unknown
section is a configuration error (with a "did you mean"), like any unknown key. A section that is
present but empty (``coverage:`` with every key commented out, YAML's null) is an error too: it
would otherwise turn its gate off without a trace. ``{}`` asks for the gate's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from opsctl.config.loader import load_yaml_model
from opsctl.config.models import LoadedProject, StrictModel
from opsctl.gates.api.settings import ApiSettings
from opsctl.gates.coverage.settings import CoverageSettings
from opsctl.gates.load.settings import LoadSettings
from opsctl.gates.migrations.settings import MigrationsSettings
from opsctl.gates.security.settings import SecuritySettings


class DefinitionOfDone(StrictModel):
    """The whole of ``checks/definition-of-done.yaml``."""

    coverage: CoverageSettings | None = Field(default=None, description="Coverage gate.")
    security: SecuritySettings | None = Field(default=None, description="Security gate.")
    migrations: MigrationsSettings | None = Field(default=None, description="Migrations gate.")
    load: LoadSettings | None = Field(default=None, description="Load gate.")
    api: ApiSettings | None = Field(default=None, description="API attack gate.")

    @field_validator("coverage", "security", "migrations", "load", "api", mode="before")
    @classmethod
    def _present_sections_have_keys(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(
                "the section is present but empty: give its keys, {} for the gate's "
                "defaults, or remove the section to turn the gate off"
            )
        return value

    def sections(self) -> list[str]:
        """The names of the sections that are present, in file order of the model."""
        return [name for name in type(self).model_fields if getattr(self, name) is not None]


def load_definition_of_done(
    project: LoadedProject, *, environ: Mapping[str, str] | None = None
) -> DefinitionOfDone:
    """Load the project's Definition of Done (path from ``opsctl.yaml``)."""
    relative = project.config.definition_of_done
    return load_yaml_model(
        project.resolve(relative), DefinitionOfDone, environ=environ, display_name=relative
    )
