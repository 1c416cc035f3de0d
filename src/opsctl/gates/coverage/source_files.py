"""Which files of ``service.source`` the coverage gate must judge, found by opsctl itself.

coverage.py lists the never-run files of a source folder by its own rules: without
``include_namespace_packages`` it skips every folder without ``__init__.py``, and it always skips
file names it thinks nobody imports (``settings.local.py``, ``2024.05.01_add_index.py``, editor
files). A file it does not list is not in its report, so untested code there would raise the total.
opsctl walks the source itself, and every ``.py`` file it finds must be in the report: the gate
counts a missing one as 0 % covered and names it.

Folders no service keeps code in are left out, by the walk and by coverage.py alike (the same
names, given to coverage.py as ``omit`` patterns): hidden ones (``.venv``, ``.git``, ``.tox``),
``__pycache__``, ``node_modules`` and installed packages (``site-packages``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

SKIPPED_FOLDERS = ("__pycache__", "node_modules", "site-packages", "dist-packages")


def skipped_folder(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_FOLDERS


def python_files(sources: Iterable[Path]) -> list[Path]:
    """Every ``.py`` file under ``sources`` (a source may be one file), resolved, sorted."""
    found: set[Path] = set()
    for source in sources:
        if source.is_file():
            if source.suffix == ".py":
                found.add(source.resolve())
            continue
        for folder, subfolders, files in os.walk(source):
            subfolders[:] = [name for name in subfolders if not skipped_folder(name)]
            found.update(Path(folder, name).resolve() for name in files if name.endswith(".py"))
    return sorted(found)


def omit_patterns(sources: Sequence[Path]) -> list[str]:
    """coverage.py ``omit`` patterns for the folders :func:`python_files` leaves out.

    coverage.py's ``*`` stays within one folder name, ``**/`` crosses any number of them, and a
    pattern ending in ``/*`` takes everything below.
    """
    patterns = []
    for source in sources:
        if source.is_dir():
            base = source.resolve().as_posix()
            patterns.append(f"{base}/**/.*/*")
            patterns.extend(f"{base}/**/{name}/*" for name in SKIPPED_FOLDERS)
    return patterns


def report_name(path: Path, root: Path) -> str:
    """The name coverage.py's report gives ``path`` (``relative_files``): from ``root`` if
    inside it, else absolute."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
