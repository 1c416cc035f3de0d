"""``poetry.lock``: ``[[package]]`` tables with ``name`` and ``version``.

A package without ``[package.source]``, or from a ``legacy`` (PEP 503) index, is auditable. A
``git``, ``directory``, ``file`` or ``url`` source is not on the index: not auditable. Poetry
does not lock the project itself.
"""

from __future__ import annotations

from pathlib import Path

from opsctl.gates.security.locks.interface import (
    LockedPackage,
    LockError,
    LockFile,
    array_of_tables,
    index_entry,
    load_toml,
)

_NOT_ON_INDEX = ("git", "directory", "file", "url")


def read(path: Path, shown: str) -> LockFile:
    document, lines = load_toml(path, shown)
    lock = LockFile(kind="poetry.lock", file=shown)
    for entry, line in array_of_tables(document, "package", shown, lines):
        name: str = entry["name"]
        version: str | None = entry.get("version")
        source = entry.get("source")
        if source is not None and not isinstance(source, dict):
            raise LockError(f"{name}: 'source' must be a table", file=shown, line=line)
        kind = str(source.get("type", "")) if source else ""
        if kind in _NOT_ON_INDEX:
            where = source.get("url", "") if source else ""
            lock.packages.append(
                LockedPackage(name, version, line, f"{kind} source {where}: not on the index")
            )
        else:
            lock.packages.append(index_entry(name, version, line))
    return lock
