"""A local OSV advisory database in the PyPA advisory-database layout, and OSV version matching.

Layout: ``vulns/<package>/<ID>.yaml`` (or ``.json``), one OSV record per file. The folder name
is only a hint: a record applies to the packages its ``affected[].package`` names (ecosystem
``PyPI``), compared as PEP 503 canonical names.

Matching follows the OSV schema's evaluation: a version is affected when it is listed in
``versions`` or falls inside an ``ECOSYSTEM`` (or ``SEMVER``) range, whose ``events`` are
``introduced`` / ``fixed`` / ``last_affected`` / ``limit``, ordered by PEP 440 (``packaging``).
``introduced: "0"`` means "since the first version". ``GIT`` ranges are ignored (commit ids).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from opsctl.errors import ConfigError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SUFFIXES = (".yaml", ".yml", ".json")


class AdvisoryDatabaseError(ConfigError):
    """The advisory database folder is missing or holds a record opsctl cannot read."""


def parse_timestamp(value: object) -> dt.datetime | None:
    """An OSV RFC 3339 timestamp (string, or a datetime PyYAML already parsed) in UTC."""
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _jsonable(value: Any) -> Any:
    """OSV records as JSON: PyYAML turns unquoted timestamps into datetimes."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        stamp = parse_timestamp(value)
        assert stamp is not None
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def in_range(version: Version, events: Iterable[Mapping[str, Any]]) -> bool:
    """OSV range evaluation for one version (events of one ECOSYSTEM/SEMVER range)."""
    points: list[tuple[Version | None, str]] = []
    for event in events:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in event:
                raw = str(event[kind])
                if kind == "introduced" and raw == "0":
                    points.append((None, kind))
                    continue
                parsed = _version(raw)
                if parsed is not None:
                    points.append((parsed, kind))
    # "0" sorts first; otherwise by version. Each event flips the state once it is passed.
    points.sort(key=lambda point: (point[0] is not None, point[0] or Version("0")))
    affected = False
    limit_hit = False
    for point, kind in points:
        if point is None or (kind == "introduced" and version >= point):  # None: "0"
            affected = True
        elif kind in ("fixed", "last_affected"):
            # last_affected is itself still affected; fixed is the first good version
            if version > point or (kind == "fixed" and version == point):
                affected = False
        elif kind == "limit" and version >= point:
            limit_hit = True
    return affected and not limit_hit


def affects(record: Mapping[str, Any], name: str, version_text: str) -> bool:
    """Does the OSV ``record`` affect PyPI package ``name`` at ``version_text``?"""
    if record.get("withdrawn"):
        return False
    wanted = canonicalize_name(name)
    version = _version(version_text)
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if str(package.get("ecosystem", "")).split(":")[0] != "PyPI":
            continue
        if canonicalize_name(str(package.get("name", ""))) != wanted:
            continue
        for listed in affected.get("versions") or []:
            listed_text = str(listed)
            if listed_text == version_text:
                return True
            listed_version = _version(listed_text)
            if version is not None and listed_version is not None and listed_version == version:
                return True
        if version is None:
            continue
        for range_ in affected.get("ranges") or []:
            if range_.get("type") in ("ECOSYSTEM", "SEMVER") and in_range(
                version, range_.get("events") or []
            ):
                return True
    return False


@dataclass
class AdvisoryDatabase:
    """Advisories read lazily, one package folder at a time (the real copy has thousands)."""

    root: Path
    _folders: dict[str, list[Path]] = field(default_factory=dict)
    _records: dict[Path, list[dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, path: Path) -> AdvisoryDatabase:
        vulns = path / "vulns" if (path / "vulns").is_dir() else path
        if not vulns.is_dir():
            raise AdvisoryDatabaseError(
                f"advisory database not found: {path} (expected vulns/<package>/<ID>.yaml)",
                key="security.advisory_db",
            )
        database = cls(root=vulns)
        for folder in sorted(p for p in vulns.iterdir() if p.is_dir()):
            database._folders.setdefault(canonicalize_name(folder.name), []).append(folder)
        if not database._folders:
            raise AdvisoryDatabaseError(
                f"advisory database {path} holds no advisories", key="security.advisory_db"
            )
        return database

    def files(self) -> list[Path]:
        return sorted(
            file
            for folders in self._folders.values()
            for folder in folders
            for file in folder.iterdir()
            if file.suffix in _SUFFIXES
        )

    def has_records(self, name: str) -> bool:
        """Does the database hold any advisory filed under this package (any version)?"""
        return canonicalize_name(name) in self._folders

    def _load(self, file: Path) -> dict[str, Any]:
        text = file.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if file.suffix == ".json" else yaml.load(text, Loader=_Loader)  # noqa: S506 - CSafeLoader/SafeLoader
        except (ValueError, yaml.YAMLError) as error:
            raise AdvisoryDatabaseError(f"unreadable advisory: {error}", file=str(file)) from None
        if not isinstance(data, dict) or "id" not in data:
            raise AdvisoryDatabaseError("not an OSV record (no id)", file=str(file))
        jsonable: dict[str, Any] = _jsonable(data)
        return jsonable

    def records_for(self, name: str) -> list[dict[str, Any]]:
        """Every record filed under the package's folder(s)."""
        out: list[dict[str, Any]] = []
        for folder in self._folders.get(canonicalize_name(name), []):
            with self._lock:
                if folder not in self._records:
                    self._records[folder] = [
                        self._load(file)
                        for file in sorted(folder.iterdir())
                        if file.suffix in _SUFFIXES
                    ]
                out.extend(self._records[folder])
        return out

    def query(self, name: str, version: str) -> list[dict[str, Any]]:
        """Records that affect ``name`` at ``version``."""
        return [record for record in self.records_for(name) if affects(record, name, version)]
