"""Find PostgreSQL server binaries: the ``pgserver`` wheel's, or the machine's.

Order: the ``pgserver`` wheel (works on a fresh machine with only Python), then ``pg_ctl`` on
``PATH``, then ``/usr/lib/postgresql/<major>/bin`` (Debian/Ubuntu), newest first.
``OPSCTL_POSTGRES_BIN`` (a folder) replaces the search. A data folder can only be run by
binaries of the major version that created it, so callers may ask for one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opsctl.errors import DatabaseError

_REQUIRED = ("initdb", "pg_ctl", "postgres")
OVERRIDE_VARIABLE = "OPSCTL_POSTGRES_BIN"


@dataclass(frozen=True)
class PostgresBinaries:
    """A folder holding ``initdb``, ``pg_ctl`` and ``postgres`` of one major version."""

    bin_dir: Path
    source: str  # "pgserver wheel" or "system"
    major: int

    def path(self, program: str) -> str:
        return str(self.bin_dir / program)


def _pgserver_bin_dir() -> Path | None:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _candidates() -> list[tuple[Path, str]]:
    override = os.environ.get(OVERRIDE_VARIABLE)
    if override:
        return [(Path(override), OVERRIDE_VARIABLE)]
    found: list[tuple[Path, str]] = []
    wheel = _pgserver_bin_dir()
    if wheel is not None:
        found.append((wheel, "pgserver wheel"))
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        found.append((Path(on_path).resolve().parent, "system"))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    found.extend((folder, "system") for folder in debian)
    return found


def _major_version(bin_dir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # "postgres (PostgreSQL) 16.2" / "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    for word in out.split():
        head = word.split(".", 1)[0]
        if head.isdigit():
            return int(head)
    return None


def find_binaries(major: int | None = None) -> PostgresBinaries:
    """The first usable binaries (of major version ``major`` when given)."""
    seen: set[Path] = set()
    versions: list[str] = []
    for bin_dir, source in _candidates():
        if bin_dir in seen or not all((bin_dir / name).is_file() for name in _REQUIRED):
            continue
        seen.add(bin_dir)
        version = _major_version(bin_dir)
        if version is None:
            continue
        versions.append(f"{version} ({bin_dir})")
        if major is None or version == major:
            return PostgresBinaries(bin_dir=bin_dir, source=source, major=version)
    if major is not None:
        raise DatabaseError(
            f"the embedded database was created by PostgreSQL {major}, and no PostgreSQL "
            f"{major} binaries were found (found: {', '.join(versions) or 'none'})",
            hint="install the matching PostgreSQL, or delete the data folder to start afresh",
        )
    override = os.environ.get(OVERRIDE_VARIABLE)
    if override:
        raise DatabaseError(
            f"{OVERRIDE_VARIABLE}={override} holds no usable initdb, pg_ctl and postgres"
        )
    raise DatabaseError(
        "no PostgreSQL binaries found for the embedded database",
        hint="pip install pgserver, or install PostgreSQL (pg_ctl and initdb on PATH)",
    )
