"""The revision history: every file loads, ids are unique, parents exist, one head.

Each revision file is loaded on its own (not through Alembic's revision map), so a file that
fails to import is named with its line, and the other problems are all reported at once
instead of the first one Alembic raises.
"""

from __future__ import annotations

import ast
import importlib.util
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.gates.interface import Finding

IRREVERSIBLE_MARKER = "opsctl_irreversible"


@dataclass(frozen=True)
class Revision:
    """One revision file, as far as opsctl needs to know it."""

    id: str
    file: Path
    parents: tuple[str, ...]
    depends_on: tuple[str, ...]
    irreversible: str | None  # the reason, when the revision declares it cannot be downgraded


@dataclass
class History:
    revisions: dict[str, Revision] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        """True when Alembic can walk it from base to a single head."""
        return not self.findings


def shown_path(path: Path, root: Path) -> str:
    """``path`` as reports show it: relative to the repository root when it is inside it."""
    resolved = path.resolve()
    if resolved.is_relative_to(root.resolve()):
        return resolved.relative_to(root.resolve()).as_posix()
    return resolved.as_posix()


def _ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return (str(value),)


def _failure_line(error: BaseException, path: Path) -> int | None:
    if isinstance(error, SyntaxError) and error.lineno is not None:
        return error.lineno
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == path.resolve()
    ]
    return lines[-1] if lines else None


def _assignment_line(path: Path, name: str) -> int | None:
    """The line of the module-level ``name = ...`` in ``path``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return None


def _load(path: Path, shown: str) -> tuple[Revision | None, Finding | None]:
    spec = importlib.util.spec_from_file_location(f"_opsctl_revision_{path.stem}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-.py names
        return None, Finding("migrations/history", f"{shown} cannot be loaded", file=shown)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # any error of a user's file is a finding, not a crash
        return None, Finding(
            "migrations/history",
            f"revision file {shown} does not load: {type(error).__name__}: {error}",
            file=shown,
            line=_failure_line(error, path),
            help="fix the error; Alembic cannot run any migration while a file fails to load",
        )
    revision = getattr(module, "revision", None)
    if not isinstance(revision, str) or not revision:
        return None, Finding(
            "migrations/history",
            f'{shown} has no `revision = "..."` id',
            file=shown,
            help="every file in the versions folder must be a revision (move helpers elsewhere)",
        )
    marker = getattr(module, IRREVERSIBLE_MARKER, None)
    return (
        Revision(
            id=revision,
            file=path,
            parents=_ids(getattr(module, "down_revision", None)),
            depends_on=_ids(getattr(module, "depends_on", None)),
            irreversible=str(marker) if marker else None,
        ),
        None,
    )


def read_history(versions_dir: Path, root: Path) -> History:
    """Load every revision under ``versions_dir``; ``root`` makes file names relative."""
    history = History()
    files: dict[str, list[Path]] = {}

    def shown(path: Path) -> str:
        return shown_path(path, root)

    for path in sorted(versions_dir.rglob("*.py")):
        if path.name.startswith("__") or "__pycache__" in path.parts:
            continue
        revision, finding = _load(path, shown(path))
        if finding is not None:
            history.findings.append(finding)
        if revision is None:
            continue
        files.setdefault(revision.id, []).append(path)
        history.revisions.setdefault(revision.id, revision)
    for revision_id, paths in files.items():
        if len(paths) > 1:
            history.findings.append(
                Finding(
                    "migrations/history",
                    f"revision id {revision_id} is used by {len(paths)} files: "
                    + ", ".join(shown(p) for p in paths),
                    file=shown(paths[1]),
                    line=_assignment_line(paths[1], "revision"),
                    help="give one of them a new id (`alembic revision` generates one)",
                )
            )
    known = set(history.revisions)
    dangling = False
    for revision in history.revisions.values():
        for parent in (*revision.parents, *revision.depends_on):
            if parent not in known:
                dangling = True
                history.findings.append(
                    Finding(
                        "migrations/history",
                        f"revision {revision.id} points at {parent}, which does not exist",
                        file=shown(revision.file),
                        line=_assignment_line(
                            revision.file,
                            "down_revision" if parent in revision.parents else "depends_on",
                        ),
                        help="set down_revision to an existing revision (`alembic heads`)",
                    )
                )
    children = {parent for rev in history.revisions.values() for parent in rev.parents}
    heads = sorted(rev_id for rev_id in known if rev_id not in children)
    if len(heads) > 1 and not dangling:  # a dangling parent makes extra heads: say it once
        history.findings.append(
            Finding(
                "migrations/history",
                f"the history has {len(heads)} heads: "
                + ", ".join(f"{h} ({shown(history.revisions[h].file)})" for h in heads),
                file=shown(history.revisions[heads[-1]].file),
                help="rebase one revision onto the other (set its down_revision) "
                "or add a merge revision (`alembic merge heads`)",
            )
        )
    return history
