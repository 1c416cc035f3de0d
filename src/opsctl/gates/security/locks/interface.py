"""What every lock reader returns, and :func:`read_lock`, which picks the reader by file name.

A lock is read into :class:`LockedPackage` entries, each with the line of the file it came from
(findings point there). An entry that cannot be audited against the package index (a git
checkout, a local path, a URL, an unpinned requirement) says why in ``not_auditable``: the gate
is then ``incomplete`` and names it. The service's own project, when a lock lists it (``uv.lock``'s
editable or virtual root, ``-e .``), is not a dependency: it goes to :attr:`LockFile.project`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.gates.interface import GateError


class LockError(GateError):
    """A lock that cannot be read; the message starts with ``file:line:`` where known."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str | None
    line: int | None
    not_auditable: str | None = None  # why pip-audit cannot audit it; None: auditable
    file: str | None = None  # the file it came from when not the lock itself (a -r/-c include)
    marker: str | None = None  # its environment marker: audited whatever it says

    @property
    def auditable(self) -> bool:
        return self.not_auditable is None and self.version is not None


def index_entry(name: str, version: str | None, line: int | None) -> LockedPackage:
    """A lock entry that comes from the package index: auditable once the lock pins it."""
    return LockedPackage(
        name, version, line, None if version is not None else "no version in the lock"
    )


@dataclass
class LockFile:
    kind: str  # "requirements", "uv.lock", "poetry.lock", "pylock.toml"
    file: str  # as given (repository-relative), for findings
    packages: list[LockedPackage] = field(default_factory=list)
    project: list[str] = field(default_factory=list)  # the service itself, left out
    # requirements files with requirements that have no --hash: pip resolves their
    # dependencies at install time, so those are not in the lock and not audited
    unhashed: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read (includes too)


Reader = Callable[[Path, str], LockFile]


def read_lock(path: Path, display: str | None = None) -> LockFile:
    """Read the lock at ``path``; ``display`` is the name findings use (default: ``path``)."""
    from opsctl.gates.security.locks import poetry_lock, pylock, requirements, uv_lock

    shown = display or str(path)
    name = path.name
    reader: Reader
    if name == "uv.lock":
        reader = uv_lock.read
    elif name == "poetry.lock":
        reader = poetry_lock.read
    elif re.fullmatch(r"pylock(\.[^.]+)?\.toml", name):
        reader = pylock.read
    elif name.endswith((".toml", ".json")) or name == "Pipfile.lock":
        raise LockError(
            "not a lock format opsctl reads (requirements*.txt, uv.lock, poetry.lock, pylock.toml)",
            file=shown,
        )
    else:
        reader = requirements.read
    if not path.is_file():
        raise LockError("not found (service.requirements)", file=shown)
    return reader(path, shown)


# -- helpers the TOML readers share ----------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_toml(path: Path, shown: str) -> tuple[dict[str, Any], list[str]]:
    """The parsed document and its lines; invalid TOML is a :class:`LockError` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LockError(f"cannot be read: {error}", file=shown) from None
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_POSITION.search(message)
        line = None
        if match:
            line = int(match[1])
            message = f"{message[: match.start()]} (column {match[2]})"
        elif message.endswith("(at end of document)"):
            line = max(1, len(text.splitlines()))
        raise LockError(f"not valid TOML: {message}", file=shown, line=line) from None


def _header(table: str, *, array: bool) -> re.Pattern[str]:
    escaped = re.escape(table)
    if array:
        return re.compile(rf"^\s*\[\[\s*{escaped}\s*\]\]\s*(#.*)?$")
    return re.compile(rf"^\s*\[\s*{escaped}\s*\]\s*(#.*)?$")


_ANY_HEADER = re.compile(r"""^\s*\[\[?\s*[\w."' .-]+?\s*\]\]?\s*(#.*)?$""")
_NAME_KEY = re.compile(r"""^\s*(?:name|"name"|'name')\s*=""")


def entry_lines(lines: list[str], table: str) -> list[tuple[int | None, int | None]]:
    """For each ``[[table]]`` entry in order: (line of its header, line of its ``name =`` key).

    tomllib gives no positions, so this scans the text: a ``name`` key counts only directly
    under the entry's own header (not in a sub-table such as ``[[packages.wheels]]``, whose
    wheels have a ``name`` too, nor inside inline tables). Lines are 1-based.
    """
    header = _header(table, array=True)
    found: list[tuple[int | None, int | None]] = []
    inside = False
    in_multiline = False
    for number, line in enumerate(lines, start=1):
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if header.match(line):
            found.append((number, None))
            inside = True
            continue
        if _ANY_HEADER.match(line):
            inside = False
            continue
        if inside and found[-1][1] is None and _NAME_KEY.match(line):
            found[-1] = (found[-1][0], number)
        if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
            in_multiline = True
    return found


def array_of_tables(
    document: dict[str, Any], key: str, shown: str, lines: list[str]
) -> list[tuple[dict[str, Any], int | None]]:
    """The entries of ``[[key]]`` with the line of each one's ``name`` (or its header)."""
    entries = document.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(item, dict) for item in entries):
        raise LockError(f"'{key}' must be an array of tables ([[{key}]])", file=shown)
    positions = entry_lines(lines, key)
    if len(positions) != len(entries):  # written in a form the scan does not follow
        positions = [(None, None)] * len(entries)
    result: list[tuple[dict[str, Any], int | None]] = []
    for entry, (header_line, name_line) in zip(entries, positions, strict=True):
        line = name_line or header_line
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise LockError(f"a [[{key}]] entry has no name", file=shown, line=line)
        version = entry.get("version")
        if version is not None and not isinstance(version, str):
            raise LockError(f"{name}: version must be a string", file=shown, line=line)
        result.append((entry, line))
    return result
