"""The ``.py`` files under ``service.source``, walked by opsctl: what bandit must have scanned.

bandit decides by itself what it reads: its default excludes match by substring (a module
``CVSExport.py`` or a folder ``CVS_sync/`` is skipped without a word), and it does not follow
symbolic links to folders. So the gate walks the source itself and compares the two lists.

The walk follows symbolic links (each real folder once, so a link cycle ends) and compares
real paths, so a file reached through a link counts as scanned when bandit read it by its
real path. It skips virtual environments only (a folder holding ``pyvenv.cfg``: installed
third-party code, not the service's), and tells bandit to skip exactly those too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SourceWalk:
    files: dict[Path, str] = field(default_factory=dict)  # real path -> repository-relative
    virtualenvs: list[str] = field(default_factory=list)  # as bandit names paths (excludes)


def _shown(root: Path, path: str) -> str:
    full = Path(os.path.normpath(root / path))
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else full.as_posix()


def python_files(root: Path, sources: list[str]) -> SourceWalk:
    """Every ``*.py`` file under the sources (``root``-relative paths, as bandit gets them)."""
    walk = SourceWalk()
    seen_folders: set[Path] = set()
    for source in sources:
        start = root / source
        if start.is_file():
            if start.suffix == ".py":
                walk.files[start.resolve()] = _shown(root, source)
            continue
        if not start.is_dir():
            continue
        for folder, folders, names in os.walk(start, followlinks=True):
            # bandit runs in ``root`` with the source as given and joins names the same way,
            # so an exclude opsctl passes matches exactly the folder meant
            relative = os.path.relpath(folder, start)
            # os.path.join, not Path: bandit's own way of naming, "./x" and "x/" kept as given
            as_bandit = source if relative == "." else os.path.join(source, relative)  # noqa: PTH118
            real = Path(folder).resolve()
            if real in seen_folders:
                folders[:] = []
                continue
            seen_folders.add(real)
            if "pyvenv.cfg" in names:
                walk.virtualenvs.append(as_bandit)
                folders[:] = []
                continue
            for name in names:
                if name.endswith(".py"):
                    path = Path(folder) / name
                    shown = _shown(root, os.path.join(as_bandit, name))  # noqa: PTH118
                    walk.files[path.resolve()] = shown
    return walk
