"""The files users upload elsewhere: coverage XML (Cobertura), LCOV, HTML and the tests' JUnit.

Codecov, SonarQube, GitLab and Jenkins read these; without them a CI job had to run the tests a
second time. They go to one folder, ``coverage/`` under the reports folder (``.opsctl/reports/``
unless the run's ``reports_dir`` option names another, as for the load gate's HTML report), and
the result's ``details.artifacts`` names each file. The coverage reports cover the same files the
gate judged (also the ones coverage.py did not list); the JUnit file is pytest's own, with the
environment's secrets masked (an assertion message may quote a database URL).

Each run replaces the folder's files, also those it could not write this time: a JUnit file left
by an earlier run would describe other tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from opsctl.gates.interface import GateContext
from opsctl.output.masking import SecretMasker

#: kind -> name in the folder (``html`` is a folder; its entry point is ``html/index.html``)
NAMES = {
    "coverage_xml": "coverage.xml",
    "lcov": "coverage.lcov",
    "html": "html",
    "junit": "junit.xml",
}


def artifacts_folder(context: GateContext) -> Path:
    directory = context.options.get("reports_dir")
    base = Path(directory) if directory else context.project.root / ".opsctl" / "reports"
    return base / "coverage"


def publish(
    staged: Mapping[str, str], junit: Path | None, folder: Path, masker: SecretMasker, root: Path
) -> dict[str, str]:
    """Move the staged reports and the JUnit file into ``folder``; kind -> path shown to users."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES.values():
        _remove(folder / name)
    published: dict[str, str] = {}
    for kind, path in staged.items():
        source = Path(path).parent if kind == "html" else Path(path)
        target = folder / NAMES[kind]
        shutil.move(source, target)
        published[kind] = _shown(target / "index.html" if kind == "html" else target, root)
    if junit is not None and junit.is_file():
        target = folder / NAMES["junit"]
        text = masker.text(junit.read_text(encoding="utf-8", errors="replace"))
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
        published["junit"] = _shown(target, root)
    if published:
        published["folder"] = _shown(folder, root)
    return published


def environment_secrets(context: GateContext) -> SecretMasker:
    """The secrets the reports mask: the environment's URLs, the secret ``service.env`` values."""
    from opsctl.reports.interface import environment_masker

    return environment_masker(context.environment, context.project.secret_values)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _shown(path: Path, root: Path) -> str:
    """Repository-relative when inside the repository (as findings are), else absolute."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
