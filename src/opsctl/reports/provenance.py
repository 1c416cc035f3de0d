"""What a run verified: the commit, whether the tree had changes, and the configuration's hashes.

A release gate shows a report as evidence: "verify passed" means little unless it says for
which commit, and whether the working tree held changes that commit does not. The hashes of
``opsctl.yaml`` and of the Definition of Done tell a reader whether the rules were the ones
they expect (a threshold lowered in the same change shows as a different hash).
"""

from __future__ import annotations

import hashlib
import subprocess  # nosec B404 - git, with fixed arguments and no shell
from dataclasses import dataclass
from pathlib import Path

_GIT_TIMEOUT_S = 20


@dataclass(frozen=True)
class Provenance:
    commit: str | None  # None: not a git checkout, or git is not installed
    dirty: bool | None  # tracked or untracked (not ignored) changes; None when unknown
    opsctl_yaml_sha256: str | None
    definition_of_done_sha256: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "commit": self.commit,
            "dirty": self.dirty,
            "opsctl_yaml_sha256": self.opsctl_yaml_sha256,
            "definition_of_done_sha256": self.definition_of_done_sha256,
        }


def collect(root: Path, opsctl_yaml: Path, definition_of_done: Path) -> Provenance:
    """The provenance of a run in ``root``, read before its gates start."""
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=normal") if commit else None
    return Provenance(
        commit=commit or None,
        dirty=None if status is None else bool(status.strip()),
        opsctl_yaml_sha256=file_sha256(opsctl_yaml),
        definition_of_done_sha256=file_sha256(definition_of_done),
    )


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _git(root: Path, *args: str) -> str | None:
    """git's output, or None when it cannot tell (no git, not a checkout, no commit yet)."""
    try:
        done = subprocess.run(  # nosec B603 B607 - git from PATH, fixed arguments
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
