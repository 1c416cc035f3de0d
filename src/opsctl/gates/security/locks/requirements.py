"""``requirements*.txt`` (hashed, as ``pip-compile``/``uv export`` write them, or not hashed).

Read as pip reads them, because what pip installs is what ships:

- every requirement is an entry, **whatever its environment marker**: the lock is installed on
  every platform it names (``; sys_platform == 'win32'`` too), so every entry is audited;
- ``-r``/``--requirement`` and ``-c``/``--constraint`` files are followed, relative to the file
  that names them (pip's rule; ``-rbase.txt`` and ``--requirement=base.txt`` too). Each entry
  keeps the file and line it came from, so findings point into the included file. An include
  cycle, or an include that does not exist, is a :class:`LockError` naming the file and line;
- a constraint does not add a package, it pins one: a requirement left unpinned (``requests``,
  ``requests>=2``) whose name a constraint pins with ``==`` is audited at that version, at the
  constraint's line (where the version is decided). A pin and a constraint that exclude each
  other cannot be installed, and are reported so;
- a requirement that is still not pinned with ``==`` to one version (``>=``, no version, a URL,
  a local path, an editable checkout other than the project itself) is not auditable, named
  with its line. Continuation lines (``\\``) belong to the line they continue; the line of an
  entry is the one its name is on.

pip installs the dependencies of a requirement too, unless every requirement carries
``--hash`` (hash-checking mode refuses anything unlisted): a file with unhashed requirements is
listed in :attr:`LockFile.unhashed`, because its transitive dependencies are not in it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from opsctl.gates.security.locks.interface import LockedPackage, LockError, LockFile

_COMMENT = re.compile(r"(^|\s+)#.*$")
_PER_REQUIREMENT_OPTION = re.compile(r"\s+--?[A-Za-z][\w-]*(?:[=\s]+(?!-)\S+)?")
_HASH_OPTION = re.compile(r"(^|\s)--hash[=\s]")
_URL = re.compile(r"^[A-Za-z][\w+.-]*://|^file:")
_PROJECT = {".", "./", "file:.", "file:./"}
_PINNED_TEXT = re.compile(r"==[^=*,]+")  # one == pin, whatever its version says
# pip's option parser takes "-r FILE", "-rFILE", "--requirement FILE", "--requirement=FILE"
_INCLUDE = re.compile(
    r"^(?:(?P<short>-[rc])\s*|(?P<long>--requirement|--constraint)(?:\s*=\s*|\s+))(?P<value>\S.*)$"
)


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


@dataclass(frozen=True)
class _Unpinned:
    """A requirement without one ``==`` version, settled against the constraints at the end."""

    requirement: Requirement
    file: str
    line: int


@dataclass
class _Reading:
    lock: LockFile
    entries: list[LockedPackage | _Unpinned] = field(default_factory=list)
    constraints: dict[str, list[tuple[Requirement, str, int]]] = field(default_factory=dict)
    read: set[tuple[Path, bool]] = field(default_factory=set)  # (file, as constraints)


def read(path: Path, shown: str) -> LockFile:
    reading = _Reading(LockFile(kind="requirements", file=shown))
    _read_file(reading, path, shown, chain=((path.resolve(), shown),), constraints=False)
    lock = reading.lock
    for entry in reading.entries:
        if isinstance(entry, _Unpinned):
            lock.packages.extend(_settle(entry, reading.constraints))
        else:
            lock.packages.append(_check_pin(entry, reading.constraints))
    lock.unhashed.sort(key=lock.files.index)  # in reading order: the lock itself first
    return lock


def _read_file(
    reading: _Reading,
    path: Path,
    shown: str,
    *,
    chain: tuple[tuple[Path, str], ...],
    constraints: bool,
) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LockError(f"cannot be read: {error}", file=shown) from None
    reading.read.add((path.resolve(), constraints))
    reading.lock.files.append(shown)
    unhashed = False
    for number, line in logical_lines(text):
        include = _INCLUDE.match(line)
        if include:
            option = include["short"] or include["long"]
            nested_constraints = option in ("-c", "--constraint")
            value = include["value"].strip().strip("'\"")
            _include(reading, path, shown, number, option, value, chain, nested_constraints)
        elif line.startswith("-"):
            if not constraints:
                _option(reading, number, line, shown)
        elif constraints:
            _constraint(reading, number, line, shown)
        else:
            unhashed |= _requirement(reading, number, line, shown)
    if unhashed:
        reading.lock.unhashed.append(shown)


def _include(
    reading: _Reading,
    path: Path,
    shown: str,
    number: int,
    option: str,
    value: str,
    chain: tuple[tuple[Path, str], ...],
    constraints: bool,
) -> None:
    if _URL.match(value):
        why = f"includes {value}, a URL opsctl does not download: vendor the file in the repository"
        reading.entries.append(LockedPackage(f"{option} {value}", None, number, why, file=shown))
        return
    target = path.parent / value
    nested = posixpath.normpath(posixpath.join(posixpath.dirname(shown), value))
    resolved = target.resolve()
    if any(resolved == seen for seen, _ in chain):
        cycle = " -> ".join([name for _, name in chain] + [nested])
        raise LockError(f"{option} {value} includes a file being read: a cycle ({cycle})",
                        file=shown, line=number)  # fmt: skip
    if not target.is_file():
        raise LockError(f"{option} {value}: no such file ({nested})", file=shown, line=number)
    if (resolved, constraints) in reading.read:
        return  # read once: its entries are already there
    _read_file(reading, target, nested, chain=(*chain, (resolved, nested)), constraints=constraints)


def _option(reading: _Reading, number: int, line: str, shown: str) -> None:
    option, _, value = line.partition(" ")
    if "=" in option:
        option, _, value = line.partition("=")
    value = value.strip()
    if option in ("-e", "--editable"):
        if value in _PROJECT:
            reading.lock.project.append(value)
        else:
            why = f"editable install of {value}: not on the index"
            reading.entries.append(LockedPackage(value, None, number, why, file=shown))
    # other options (--index-url, --require-hashes, ...) list no package


def _parse(spec: str, shown: str, number: int) -> Requirement:
    try:
        return Requirement(spec)
    except InvalidRequirement as error:
        raise LockError(f"not a valid requirement: {error}", file=shown, line=number) from None


def _requirement(reading: _Reading, number: int, line: str, shown: str) -> bool:
    """Add the requirement on ``line``; return whether it has no ``--hash``."""
    unhashed = not _HASH_OPTION.search(line)
    spec = _PER_REQUIREMENT_OPTION.sub("", " " + line).strip()
    target = spec.split(";", 1)[0].strip()
    if target in _PROJECT:
        reading.lock.project.append(target)
        return False
    if target.startswith((".", "/")) or _URL.match(target):
        why = f"local path or URL {target}: not on the index"
        reading.entries.append(LockedPackage(target, None, number, why, file=shown))
        return unhashed
    requirement = _parse(spec, shown, number)
    marker = str(requirement.marker) if requirement.marker is not None else None
    name = requirement.name
    if requirement.url:
        why = f"URL requirement {requirement.url}: not on the index"
        reading.entries.append(LockedPackage(name, None, number, why, shown, marker))
        return unhashed
    version = _pinned(requirement)
    if version is None and _PINNED_TEXT.fullmatch(str(requirement.specifier)):
        why = f"version {str(requirement.specifier)[2:]} is not a PEP 440 version"
        reading.entries.append(LockedPackage(name, None, number, why, shown, marker))
    elif version is None:
        reading.entries.append(_Unpinned(requirement, shown, number))
    else:
        reading.entries.append(LockedPackage(name, version, number, None, shown, marker))
    return unhashed


def _constraint(reading: _Reading, number: int, line: str, shown: str) -> None:
    spec = _PER_REQUIREMENT_OPTION.sub("", " " + line).strip()
    if spec.split(";", 1)[0].strip().startswith((".", "/")) or _URL.match(spec):
        return  # pip refuses unnamed constraints; nothing to pin
    requirement = _parse(spec, shown, number)
    where = reading.constraints.setdefault(canonicalize_name(requirement.name), [])
    where.append((requirement, shown, number))


def _pinned(requirement: Requirement) -> str | None:
    """The one version ``requirement`` pins with ``==``, or ``None``."""
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        return None
    version = specifiers[0].version
    try:
        Version(version)
    except InvalidVersion:
        return None
    return version


Constraints = dict[str, list[tuple[Requirement, str, int]]]


def _settle(entry: _Unpinned, constraints: Constraints) -> list[LockedPackage]:
    """The versions the constraints pin an unpinned requirement to (one entry per version).

    A universal constraints file may pin a name once per platform (under markers): each
    version is audited, as each ships somewhere.
    """
    requirement = entry.requirement
    name, wanted = requirement.name, requirement.specifier
    marker = str(requirement.marker) if requirement.marker is not None else None
    found = constraints.get(canonicalize_name(name), [])
    pins: dict[str, LockedPackage] = {}
    refused: list[str] = []
    for constraint, file, line in found:
        version = _pinned(constraint)
        if version is None:
            continue
        if not wanted.contains(version, prereleases=True):
            refused.append(f"{file}:{line} pins =={version}")
        elif version not in pins:
            markers = [str(m) for m in (requirement.marker, constraint.marker) if m is not None]
            pin_marker = " and ".join(markers) or None
            pins[version] = LockedPackage(name, version, line, None, file, pin_marker)
    if pins:
        return list(pins.values())
    spec = str(wanted) or "no version"
    if refused:
        why = f"{spec} conflicts with the constraints ({'; '.join(refused)}): pip cannot install it"
    else:
        why = f"not pinned to one version with == ({spec})"
        if found:
            why += "; no constraint pins it to one version either"
    return [LockedPackage(name, None, entry.line, why, entry.file, marker)]


def _check_pin(package: LockedPackage, constraints: Constraints) -> LockedPackage:
    """A pinned requirement that every constraint on its name excludes cannot be installed."""
    found = constraints.get(canonicalize_name(package.name), [])
    if not found or package.version is None:
        return package
    version = package.version
    if any(c.specifier.contains(version, prereleases=True) for c, _, _ in found):
        return package
    refused = "; ".join(f"{file}:{line} allows {c.specifier}" for c, file, line in found)
    why = f"pinned to {version}, but the constraints exclude it ({refused}): pip cannot install it"
    return LockedPackage(package.name, None, package.line, why, package.file, package.marker)
