"""``requirements*.txt`` (hashed, as ``pip-compile``/``uv export`` write them, or not hashed).

Every requirement must be pinned with ``==`` to one version: anything else (``>=``, no version,
a URL, a local path, an editable checkout other than the project itself) is not auditable and
is reported with its line. Continuation lines (``\\``) belong to the line they continue; the
line of an entry is the one its name is on. As pip-audit does, a requirement whose environment
marker is false for this interpreter (``; sys_platform == 'win32'``) is left out, and listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from opsctl.gates.security.locks.interface import LockedPackage, LockError, LockFile

_COMMENT = re.compile(r"(^|\s+)#.*$")
_PER_REQUIREMENT_OPTION = re.compile(r"\s+--?[A-Za-z][\w-]*(?:[=\s]+(?!-)\S+)?")
_URL = re.compile(r"^[A-Za-z][\w+.-]*://|^file:")
_PROJECT = {".", "./", "file:.", "file:./"}


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text without comments) of each logical line, continuations joined."""
    start: int | None = None
    parts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw)
        if start is None:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        joined = " ".join(part.strip() for part in parts).strip()
        if joined:
            yield start, joined
        start, parts = None, []
    if parts:
        joined = " ".join(part.strip() for part in parts).strip()
        if joined and start is not None:
            yield start, joined


def read(path: Path, shown: str) -> LockFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LockError(f"cannot be read: {error}", file=shown) from None
    lock = LockFile(kind="requirements", file=shown)
    for number, line in logical_lines(text):
        if line.startswith("-"):
            _option(lock, number, line)
        else:
            _requirement(lock, number, line, shown)
    return lock


def _option(lock: LockFile, number: int, line: str) -> None:
    option, _, value = line.partition(" ")
    if "=" in option:
        option, _, value = line.partition("=")
    value = value.strip()
    if option in ("-e", "--editable"):
        if value in _PROJECT:
            lock.project.append(value)
        else:
            lock.packages.append(
                LockedPackage(value, None, number, f"editable install of {value}: not on the index")
            )
    elif option in ("-r", "--requirement"):
        lock.packages.append(
            LockedPackage(
                f"{option} {value}",
                None,
                number,
                f"includes {value}, which is not audited: name the complete lock in "
                "service.requirements",
            )
        )
    # other options (--index-url, -c constraints, --require-hashes, ...) list no package


def _requirement(lock: LockFile, number: int, line: str, shown: str) -> None:
    spec = _PER_REQUIREMENT_OPTION.sub("", " " + line).strip()
    target = spec.split(";", 1)[0].strip()
    if target in _PROJECT:
        lock.project.append(target)
        return
    if target.startswith((".", "/")) or _URL.match(target):
        lock.packages.append(
            LockedPackage(target, None, number, f"local path or URL {target}: not on the index")
        )
        return
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as error:
        raise LockError(f"not a valid requirement: {error}", file=shown, line=number) from None
    name = requirement.name
    if requirement.marker is not None:
        try:
            applies = requirement.marker.evaluate()
        except (UndefinedComparison, UndefinedEnvironmentName):
            applies = True
        if not applies:
            lock.excluded[canonicalize_name(name)] = f"marker is false here: {requirement.marker}"
            return
    if requirement.url:
        why = f"URL requirement {requirement.url}: not on the index"
        lock.packages.append(LockedPackage(name, None, number, why))
        return
    specifiers = list(requirement.specifier)
    pinned = (
        len(specifiers) == 1 and specifiers[0].operator == "==" and "*" not in specifiers[0].version
    )
    if not pinned:
        constraint = str(requirement.specifier) or "no version"
        lock.packages.append(
            LockedPackage(name, None, number, f"not pinned to one version with == ({constraint})")
        )
        return
    version = specifiers[0].version
    try:
        Version(version)
    except InvalidVersion:
        lock.packages.append(
            LockedPackage(name, None, number, f"version {version} is not a PEP 440 version")
        )
        return
    lock.packages.append(LockedPackage(name, version, number))
