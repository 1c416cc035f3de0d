"""The shape of ``checks/definition-of-done.yaml``: one optional section per gate.

A section that is present turns its gate on for ``opsctl verify`` without gate names; an unknown
section is a configuration error (with a "did you mean"), like any unknown key.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from opsctl.config.loader import load_yaml_model
from opsctl.config.models import LoadedProject, StrictModel
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
