"""``uv.lock``: ``[[package]]`` tables with ``name``, ``version`` and ``source``.

``source = { registry = ... }`` is on an index: auditable. ``git``, ``path``, ``directory`` and
``url`` sources are not on the index: not auditable. The project itself — an ``editable`` or
``virtual`` source at ``"."``, or a member of ``[manifest] members`` of a workspace — is the
service, not a dependency: it is left out and listed in :attr:`LockFile.project`.
A universal lock may list one package at several versions (one per resolution fork): each
entry is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from opsctl.gates.security.locks.interface import (
    LockedPackage,
    LockError,
    LockFile,
    array_of_tables,
    index_entry,
    load_toml,
)

_NOT_ON_INDEX = ("git", "path", "directory", "url", "editable", "virtual")


def read(path: Path, shown: str) -> LockFile:
    document, lines = load_toml(path, shown)
    lock = LockFile(kind="uv.lock", file=shown)
    manifest = document.get("manifest")
    members_raw = manifest.get("members", []) if isinstance(manifest, dict) else []
    members = {canonicalize_name(str(member)) for member in members_raw}
    for entry, line in array_of_tables(document, "package", shown, lines):
        name: str = entry["name"]
        version: str | None = entry.get("version")
        source: Any = entry.get("source")
        if not isinstance(source, dict) or not source:
            raise LockError(f"{name}: 'source' must be a table", file=shown, line=line)
        kind, location = next(iter(source.items()))
        if kind in ("editable", "virtual") and (
            str(location) in (".", "./") or canonicalize_name(name) in members
        ):
            lock.project.append(name)
            continue
        if kind in _NOT_ON_INDEX:
            lock.packages.append(
                LockedPackage(name, version, line, f"{kind} source {location}: not on the index")
            )
        elif kind != "registry":
            lock.packages.append(
                LockedPackage(name, version, line, f"unknown source kind {kind!r}")
            )
        else:
            lock.packages.append(index_entry(name, version, line))
    return lock
