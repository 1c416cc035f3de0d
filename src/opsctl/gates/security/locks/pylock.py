"""``pylock.toml`` (PEP 751): ``[[packages]]`` tables with ``name`` and ``version``.

An entry installed from ``vcs``, ``directory`` or ``archive`` is not on the index: not
auditable — except a ``directory`` at ``"."``, the project itself, which is left out. An index
entry (``sdist``/``wheels``) must have a ``version`` to be audited.
"""

from __future__ import annotations

from pathlib import Path

from opsctl.gates.security.locks.interface import (
    LockedPackage,
    LockFile,
    array_of_tables,
    index_entry,
    load_toml,
)


def read(path: Path, shown: str) -> LockFile:
    document, lines = load_toml(path, shown)
    lock = LockFile(kind="pylock.toml", file=shown)
    for entry, line in array_of_tables(document, "packages", shown, lines):
        name: str = entry["name"]
        version: str | None = entry.get("version")
        directory = entry.get("directory")
        if isinstance(directory, dict) and str(directory.get("path")) in (".", "./"):
            lock.project.append(name)
            continue
        source = next((key for key in ("vcs", "directory", "archive") if key in entry), None)
        if source is not None:
            table = entry[source]
            where = (table.get("url") or table.get("path") or "") if isinstance(table, dict) else ""
            lock.packages.append(
                LockedPackage(name, version, line, f"{source} source {where}: not on the index")
            )
        else:
            lock.packages.append(index_entry(name, version, line))
    return lock
