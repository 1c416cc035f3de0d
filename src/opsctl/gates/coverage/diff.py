"""Which lines of the service's Python source changed since a base ref (for ``diff`` coverage).

Changes are taken from the working tree (committed, staged, unstaged) against the merge base
with the base ref, plus untracked files (new files are changes too: diff-cover misses them).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from opsctl.gates.interface import GateError

DEFAULT_BASES = ("main", "origin/main", "master", "origin/master")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GateError(f"git {args[0]} failed: {error}") from None


def merge_base(root: Path, base: str | None) -> tuple[str, str]:
    """``(ref, commit)``: the merge base of HEAD with ``base`` (or the first default that exists).

    Raises :class:`GateError` naming what to pass when there is no repository or no base.
    """
    if _git(root, "rev-parse", "--is-inside-work-tree").returncode != 0:
        raise GateError(f"{root} is not in a git repository: diff coverage needs one")
    candidates = (base,) if base else DEFAULT_BASES
    for ref in candidates:
        found = _git(root, "merge-base", "HEAD", ref)
        if found.returncode == 0 and found.stdout.strip():
            return ref, found.stdout.strip()
    if base:
        raise GateError(f"no merge base between HEAD and '{base}': is the ref fetched?")
    raise GateError(
        "no base ref for diff coverage (tried " + ", ".join(DEFAULT_BASES) + ")",
        hint="pass --base REF (in CI fetch the main branch first)",
    )


def changed_lines(root: Path, commit: str, sources: Sequence[str]) -> dict[str, set[int]]:
    """Repository-root-relative ``.py`` path -> added or modified line numbers since ``commit``."""
    diff = _git(
        root, "diff", "--no-color", "--no-ext-diff", "--unified=0", "--relative", commit,
        "--", *sources,
    )  # fmt: skip
    if diff.returncode != 0:
        raise GateError(f"git diff failed: {diff.stderr.strip()}")
    changes = parse_unified_diff(diff.stdout)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--", *sources)
    for path in untracked.stdout.splitlines():
        file = root / path
        if path.endswith(".py") and file.is_file():
            count = len(file.read_text(encoding="utf-8", errors="replace").splitlines())
            changes[path] = set(range(1, count + 1))
    return {path: lines for path, lines in changes.items() if path.endswith(".py") and lines}


def parse_unified_diff(text: str) -> dict[str, set[int]]:
    """Added line numbers per new-side path of a ``--unified=0`` diff."""
    changes: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            if target == "/dev/null":
                current = None
                continue
            path = target[2:] if target.startswith("b/") else target
            current = changes.setdefault(path, set())
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                start = int(match["start"])
                count = int(match["count"]) if match["count"] is not None else 1
                current.update(range(start, start + count))
    return changes


def code_lines(file: Path) -> set[int]:
    """Lines that hold code (not blank, not only a comment): used when coverage has no data."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    }
