"""Drift: the schema the models describe against the schema the migrations build.

One throwaway database gets ``metadata.create_all()``; its catalog snapshot is compared with
the snapshot at head taken by the reversibility walk, with the same snapshotter, so CHECK
constraints, enum labels, sequences, functions and triggers are compared too (Alembic's
autogenerate cannot see them). ``alembic_version`` exists only on the migrations side and is
left out. Also: every module of the models package must be imported when the metadata is.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from opsctl.database.throwaway import throwaway_database
from opsctl.database.urls import to_sqlalchemy
from opsctl.gates.interface import Finding, Severity
from opsctl.gates.migrations.alembic_env import VERSION_TABLE
from opsctl.gates.migrations.bounds import Bounds, WalkStoppedError
from opsctl.gates.migrations.snapshot import Snapshot, compare, take_snapshot, without_table

_SHORT = 160

# Runs in a fresh interpreter, so modules other code imported do not hide a missing import.
_IMPORT_CHECK = """
import importlib, json, pkgutil, sys
module_name, attribute, package_name = sys.argv[1:4]
metadata = importlib.import_module(module_name)
for part in attribute.split("."):
    metadata = getattr(metadata, part)
metadata = getattr(metadata, "metadata", metadata)
package = importlib.import_module(package_name)
imported = set(sys.modules)
result = []
for info in pkgutil.walk_packages(package.__path__, package_name + "."):
    if info.name in imported:
        continue
    tables = set(metadata.tables)
    try:
        importlib.import_module(info.name)
    except Exception as error:
        result.append([info.name, [], f"{type(error).__name__}: {error}"])
        continue
    imported.update(sys.modules)
    result.append([info.name, sorted(set(metadata.tables) - tables), None])
print(json.dumps(result))
"""


class ModelsBuildError(Exception):
    """``metadata.create_all()`` failed on an empty database (the models' own DDL is wrong)."""


def load_metadata(reference: str) -> sa.MetaData:
    """``module:attribute`` -> the SQLAlchemy MetaData it names (ValueError if it is not one).

    The attribute may be dotted (``app.models:SQLModel.metadata``) or name a declarative base
    or ``SQLModel`` itself, whose ``.metadata`` is taken.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"'{reference}' is not 'module:attribute'")
    found: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    metadata = found if isinstance(found, sa.MetaData) else getattr(found, "metadata", found)
    if not isinstance(metadata, sa.MetaData):
        raise ValueError(f"'{reference}' is a {type(metadata).__name__}, not a MetaData")
    return metadata


def models_snapshot(
    metadata: sa.MetaData, server_url: str, bounds: Bounds | None = None
) -> Snapshot:
    """The snapshot of a throwaway database built by ``metadata.create_all()``.

    Its sessions have the statement and lock timeouts of ``bounds``; hitting one raises
    :class:`WalkStoppedError` (the models could not be judged), not :class:`ModelsBuildError`.
    """
    bounds = bounds or Bounds()
    with throwaway_database(server_url) as plain:
        engine = sa.create_engine(to_sqlalchemy(bounds.url(plain)), poolclass=sa.NullPool)
        try:
            with engine.connect() as connection:
                try:
                    metadata.create_all(connection)
                    connection.commit()
                except sa.exc.SQLAlchemyError as error:
                    why = bounds.explain(error)
                    if why is not None:
                        raise WalkStoppedError(f"metadata.create_all() stopped: {why}") from None
                    original = getattr(error, "orig", None) or error
                    raise ModelsBuildError(str(original).strip().splitlines()[0]) from None
                return take_snapshot(connection)
        finally:
            engine.dispose()


def allowed(description: str, allow: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(description, pattern) for pattern in allow)


Location = tuple[str | None, int | None]


def table_locations(files: list[Path], shown: Callable[[Path], str]) -> dict[str, Location]:
    """Table name -> where the models first spell it as a string (for annotations)."""
    locations: dict[str, Location] = {}
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, text in enumerate(lines, start=1):
            for name in re.findall(r"""["']([A-Za-z_][A-Za-z0-9_]*)["']""", text):
                locations.setdefault(name, (shown(path), number))
    return locations


def compare_with_models(
    models: Snapshot,
    head: Snapshot,
    allow: list[str],
    shown: str | None,
    locations: dict[str, Location] | None = None,
) -> list[Finding]:
    """Findings for every object the models and the migrated schema disagree on."""
    findings = []
    for difference in compare(models, without_table(head, VERSION_TABLE)):
        thing = difference.key.describe()
        table = difference.key.table or (
            difference.key.name if difference.key.kind == "table" else None
        )
        # the object's own name if the models spell it (constraints, indexes), else its table
        known = locations or {}
        name = difference.key.name.rsplit(".", 1)[-1]
        file, line = known.get(name) or known.get((table or "").rsplit(".", 1)[-1], (shown, None))
        if difference.after is None:
            message = f"{thing} is in the models but the migrations do not create it"
            fix = "add a revision that creates it (alembic revision --autogenerate, then review)"
        elif difference.before is None and difference.key.kind == "extension":
            # SQLAlchemy models cannot declare an extension: the migrations are its only home
            findings.append(
                Finding(
                    "migrations/drift",
                    f"{thing} exists after the migrations (models cannot declare extensions)",
                    severity=Severity.NOTE,
                    file=file,
                    line=line,
                )
            )
            continue
        elif difference.before is None:
            message = f"{thing} exists after the migrations but is not in the models"
            fix = "add it to the models, or drop it in a new revision"
        elif len(difference.before) <= _SHORT and len(difference.after) <= _SHORT:
            message = (
                f"{thing} is `{difference.before}` in the models but "
                f"`{difference.after}` after the migrations"
            )
            fix = "make the models and a new revision agree"
        else:
            message = f"{thing} is defined differently in the models and after the migrations"
            fix = "make the models and a new revision agree"
        accepted = allowed(thing, allow)
        findings.append(
            Finding(
                "migrations/drift",
                message + (" (allowed by migrations.allow)" if accepted else ""),
                severity=Severity.NOTE if accepted else Severity.ERROR,
                file=file,
                line=line,
                accepted=accepted,
                help=fix + "; or allow it with a pattern in the `migrations.allow` list",
            )
        )
    return findings


def unimported_models(
    reference: str, package: str, root: Path, paths: list[Path], shown: str | None
) -> list[Finding]:
    """Modules of ``package`` that importing the metadata does not import."""
    module_name, _, attribute = reference.partition(":")
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(p) for p in paths] + [environment.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _IMPORT_CHECK, module_name, attribute, package],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [
            Finding(
                "migrations/models-import",
                f"importing the modules of {package} took more than 120 s: not checked",
                severity=Severity.WARNING,
                file=shown,
            )
        ]
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            Finding(
                "migrations/models-import",
                f"cannot import {reference} and package {package} in a fresh interpreter: {last}",
                file=shown,
                help="make `service.metadata` importable (and `migrations.models`, if set)",
            )
        ]
    findings = []
    for name, tables, error in json.loads(completed.stdout):
        if error:
            message = f"models module {name} is not imported by {module_name} and fails: {error}"
        elif tables:
            message = (
                f"models module {name} is not imported by {module_name}: "
                f"its tables {', '.join(tables)} are missing from the metadata"
            )
        else:
            message = f"models module {name} is not imported by {module_name}"
        findings.append(
            Finding(
                "migrations/models-import",
                message,
                severity=Severity.ERROR if tables or error else Severity.WARNING,
                file=shown,
                help=f"import {name} in {module_name} (or its package __init__)",
            )
        )
    return findings
