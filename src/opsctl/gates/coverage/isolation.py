"""What the coverage gate owns, whatever the caller's environment or the project's settings say.

coverage.py reads its data file from ``COVERAGE_FILE`` ahead of the gate's own rcfile, so a
``COVERAGE_FILE`` left by CI made the gate judge an older run's data; ``COVERAGE_RCFILE``,
``COVERAGE_PROCESS_*``, ``COVERAGE_DEBUG*`` and ``COVERAGE_CORE`` change what it measures or
where it writes. pytest reads ``PYTEST_ADDOPTS`` (a ``--deselect`` hides a failing test) and
``PYTEST_PLUGINS``, and ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` switches off the plugins the tests rely
on (an async test without its plugin fails or is skipped). None of these reach the tests or the
export step; the names (never the values) are reported.

The project's own coverage.py settings (``[tool.coverage]``, ``.coveragerc``, ``setup.cfg``,
``tox.ini``) are never read either (the gate passes its own rcfile, which coverage.py then reads
alone): a ``source`` or ``omit`` there cannot shrink what is judged. They are reported, ``omit``
patterns by name, so nobody believes they took effect.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pytest (and pytest-xdist in its workers) set these itself when opsctl runs inside a test:
# not the caller's choice, not worth a report (they are removed all the same).
_PYTEST_BOOKKEEPING = (
    "PYTEST_CURRENT_TEST",
    "PYTEST_VERSION",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
)
_COVERAGE_SECTIONS = ("run", "report", "paths", "html", "xml", "json", "lcov")


def owned_environment(
    environ: Mapping[str, str], declared: Collection[str]
) -> tuple[dict[str, str], list[str]]:
    """``environ`` without coverage.py's and pytest's variables, and the names removed.

    ``PYTEST_*`` variables the service sets itself in ``service.env`` (``declared``) stay:
    they are the service's configuration, written in opsctl.yaml. ``COVERAGE_*`` never stay:
    the gate's data file and settings are its own.
    """
    kept: dict[str, str] = {}
    removed: list[str] = []
    for name, value in environ.items():
        ours = name.startswith("COVERAGE_") or (name.startswith("PYTEST_") and name not in declared)
        if not ours:
            kept[name] = value
        elif name not in _PYTEST_BOOKKEEPING:
            removed.append(name)
    return kept, sorted(removed)


@dataclass(frozen=True)
class ProjectCoverageSettings:
    """A coverage.py configuration file of the project, which the gate does not use."""

    file: str  # repository-relative
    line: int | None  # of its first coverage section
    settings: list[str]  # "run.omit", "report.fail_under", ...
    omit: list[str] = field(default_factory=list)  # its omit patterns (run and report)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "settings": self.settings, "omit": self.omit}


def project_coverage_settings(root: Path) -> list[ProjectCoverageSettings]:
    """Every coverage.py configuration file beside the service that sets something."""
    found = []
    for name, prefix in (
        (".coveragerc", ""),
        ("setup.cfg", "coverage:"),
        ("tox.ini", "coverage:"),
    ):
        path = root / name
        if path.is_file():
            sections = _ini_sections(path, prefix, also_prefixed=name == ".coveragerc")
            found.append(_settings(name, path, sections, f"[{prefix}"))
    for name in (".coveragerc.toml", "pyproject.toml"):
        path = root / name
        if path.is_file():
            found.append(_settings(name, path, _toml_sections(path), "coverage"))
    return [settings for settings in found if settings.settings]


def _ini_sections(path: Path, prefix: str, *, also_prefixed: bool) -> dict[str, dict[str, Any]]:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return {}
    sections: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        for candidate in (prefix, "coverage:") if also_prefixed else (prefix,):
            if section.startswith(candidate) and section[len(candidate) :] in _COVERAGE_SECTIONS:
                values = dict(parser.items(section))
                sections[section[len(candidate) :]] = {
                    key: _ini_list(value) if key == "omit" else value
                    for key, value in values.items()
                }
    return sections


def _toml_sections(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    tool = data.get("tool")
    coverage = tool.get("coverage") if isinstance(tool, dict) else None
    if path.name == ".coveragerc.toml" and coverage is None:
        coverage = data  # .coveragerc.toml may hold the sections at the top level
    if not isinstance(coverage, dict):
        return {}
    return {
        name: section
        for name, section in coverage.items()
        if name in _COVERAGE_SECTIONS and isinstance(section, dict)
    }


def _settings(
    name: str, path: Path, sections: dict[str, dict[str, Any]], marker: str
) -> ProjectCoverageSettings:
    settings = sorted(f"{section}.{key}" for section, values in sections.items() for key in values)
    omit: list[str] = []
    for section in ("run", "report"):
        patterns = sections.get(section, {}).get("omit", [])
        omit += [patterns] if isinstance(patterns, str) else [str(p) for p in patterns]
    line = _first_line(path, marker) if settings else None
    return ProjectCoverageSettings(name, line, settings, omit)


def _ini_list(value: str) -> list[str]:
    """coverage.py's INI lists: one item a line, or separated by commas."""
    return [item for item in re.split(r"[,\s]+", value) if item]


def _first_line(path: Path, marker: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        stripped = line.strip()
        if stripped.startswith("[") and marker in stripped:
            return number + 1
    return None
