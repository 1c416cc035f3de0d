"""The files of a service's repository that `init` reads: its own, not those of the tools beside it.

A virtual environment (any folder holding ``pyvenv.cfg``, whatever its name: ``.venv``, ``venv``,
``env``), version control, caches and build output are pruned while walking, so the thousands of
modules of an installed site-packages are neither parsed nor mistaken for the service's tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"}


def is_skipped(folder: Path) -> bool:
    return folder.name in SKIPPED_DIRS or (folder / "pyvenv.cfg").is_file()


def walk(root: Path, pattern: str = "*.py") -> Iterator[Path]:
    """Files under ``root`` matching ``pattern``, in sorted order, skipped folders pruned."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(name for name in dirs if not is_skipped(here / name))
        for name in sorted(files):
            path = here / name
            if path.match(pattern):
                yield path


def folders(root: Path, names: set[str]) -> list[Path]:
    """Folders under ``root`` with one of ``names``, skipped folders pruned."""
    found = []
    for folder, dirs, _files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(name for name in dirs if not is_skipped(here / name))
        found += [here / name for name in dirs if name in names]
    return sorted(found)
