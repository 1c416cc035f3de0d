"""Write `init`'s files all or nothing: validated first, never over a file without ``--force``."""

from __future__ import annotations

import difflib
import enum
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsctl.config.loader import load_yaml_model
from opsctl.config.models import LoadedProject, ProjectConfig
from opsctl.definition_of_done import DefinitionOfDone
from opsctl.errors import ConfigError


class Change(enum.StrEnum):
    NEW = "new"
    UNCHANGED = "unchanged"
    CHANGED = "changed"


@dataclass
class PlannedFile:
    path: Path  # absolute
    shown: str  # relative to the repository
    text: str
    change: Change
    diff: str = ""  # unified diff against the file on disk, when it changed


def plan(root: Path, files: Mapping[str, str]) -> list[PlannedFile]:
    """Each file `init` would write, compared with what is on disk."""
    planned = []
    for shown, text in files.items():
        path = root / shown
        if not path.exists():
            planned.append(PlannedFile(path, shown, text, Change.NEW))
            continue
        current = path.read_text(encoding="utf-8", errors="replace")
        if current == text:
            planned.append(PlannedFile(path, shown, text, Change.UNCHANGED))
            continue
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{shown} (on disk)",
                tofile=f"{shown} (opsctl init)",
            )
        )
        planned.append(PlannedFile(path, shown, text, Change.CHANGED, diff))
    return planned


def validate(
    root: Path, planned: list[PlannedFile], environ: Mapping[str, str]
) -> tuple[LoadedProject, DefinitionOfDone]:
    """Load the planned ``opsctl.yaml`` and Definition of Done with opsctl's own models."""
    with tempfile.TemporaryDirectory(prefix="opsctl-init-") as scratch:
        for item in planned:
            target = Path(scratch) / item.shown
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
        config = load_yaml_model(
            Path(scratch) / "opsctl.yaml",
            ProjectConfig,
            environ=environ,
            display_name="opsctl.yaml",
        )
        project = LoadedProject(config=config, path=root / "opsctl.yaml")
        done = load_yaml_model(
            Path(scratch) / config.definition_of_done,
            DefinitionOfDone,
            environ=environ,
            display_name=config.definition_of_done,
        )
        return project, done


def write(planned: list[PlannedFile], *, force: bool) -> list[PlannedFile]:
    """Write new files (and changed ones with ``force``); each atomically. Returns the written."""
    refused = [item.shown for item in planned if item.change is Change.CHANGED and not force]
    if refused:
        raise ConfigError(
            "exists and differs from what `opsctl init` would write; not overwritten"
            + (f" (nor {', '.join(refused[1:])})" if refused[1:] else ""),
            file=refused[0],
            hint="the differences are shown above; run `opsctl init --force` to replace them",
        )
    written = []
    for item in planned:
        if item.change is Change.UNCHANGED:
            continue
        item.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{item.path.name}.", dir=item.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(item.text)
            Path(temporary).replace(item.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(item)
    return written
