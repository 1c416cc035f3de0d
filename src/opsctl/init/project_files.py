"""What the repository's own files say: locks, the test runner, Alembic and its revisions."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

from opsctl.init import repository_files
from opsctl.init.inspection import Inspection

#: Locks the security gate reads, best first: the one `init` picks when there are several.
LOCK_ORDER = ("pylock.toml", "uv.lock", "poetry.lock")


def project_name(root: Path) -> str:
    """``[project] name`` or ``[tool.poetry] name`` of pyproject.toml, else the folder's name."""
    pyproject = _pyproject(root)
    project, tool = pyproject.get("project"), pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    name = (project.get("name") if isinstance(project, dict) else None) or (
        poetry.get("name") if isinstance(poetry, dict) else None
    )
    return str(name) if name else root.resolve().name


def _pyproject(root: Path) -> dict[str, object]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError:
        return {}


def find_locks(inspection: Inspection) -> None:
    """Pick the lock the security gate audits; name the others."""
    root = inspection.root
    candidates = [name for name in LOCK_ORDER if (root / name).is_file()]
    requirements = sorted(
        path.name for path in root.glob("requirements*.txt") if path.is_file()
    ) + sorted(path.name for path in root.glob("requirements*.lock") if path.is_file())
    # a hashed requirements lock is what the service installs from: prefer it
    hashed = [name for name in requirements if "--hash=" in (root / name).read_text("utf-8")]
    ordered = candidates + hashed + [name for name in requirements if name not in hashed]
    runtime = [name for name in ordered if not re.search(r"dev|test|lint|doc", name)]
    if not ordered:
        workspace = workspace_lock(root)
        if workspace is not None:
            ordered = [workspace]
    if not ordered:
        inspection.undecided.append(
            "no lock file (pylock.toml, uv.lock, poetry.lock, requirements*.txt): the "
            "security gate audits the service's code only; generate one and set "
            "service.requirements"
        )
        return
    chosen = (runtime or ordered)[0]
    inspection.lock = chosen
    inspection.other_locks = [name for name in ordered if name != chosen]
    inspection.note("lock", chosen, root / chosen)


def workspace_lock(root: Path) -> str | None:
    """A uv workspace's lock in a folder above ``root`` (``../uv.lock``), if one is there."""
    for depth, parent in enumerate(root.parents[:3], start=1):
        if (parent / "uv.lock").is_file():
            return "../" * depth + "uv.lock"
        if (parent / ".git").exists():
            break
    return None


def find_python(inspection: Inspection) -> None:
    """The service's ``requires-python``: opsctl runs its tests with its own interpreter."""
    import sys

    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    project = _pyproject(inspection.root).get("project")
    wanted = project.get("requires-python") if isinstance(project, dict) else None
    if not isinstance(wanted, str):
        return
    try:
        allowed = SpecifierSet(wanted)
    except InvalidSpecifier:
        return
    running = ".".join(str(part) for part in sys.version_info[:3])
    if running not in allowed:
        inspection.undecided.append(
            f"the service requires Python {wanted} (pyproject.toml) but opsctl runs on "
            f"{running}, and runs the tests with its interpreter: install opsctl in a Python "
            "the service supports, or set service.tests to the service's own interpreter"
        )


def find_tests(inspection: Inspection) -> None:
    """The test command: pytest with its own configuration, or on the tests folder found."""
    root = inspection.root
    configured = _pytest_configured(root)
    folders = repository_files.folders(root, {"tests", "test"})
    if configured is not None:
        inspection.tests = ["python", "-m", "pytest"]
        inspection.has_tests = True
        inspection.note("tests", "pytest (its own configuration)", root / configured)
    elif folders:
        shown = folders[0].relative_to(root).as_posix()
        inspection.tests = ["python", "-m", "pytest", shown]
        inspection.has_tests = True
        inspection.note("tests", f"pytest on {shown}", folders[0])
    elif files := sorted(path.name for path in root.glob("test*.py") if path.is_file()) + sorted(
        path.name for path in root.glob("*_test.py") if path.is_file()
    ):
        inspection.tests = ["python", "-m", "pytest", *files]
        inspection.has_tests = True
        inspection.note("tests", f"pytest on {', '.join(files)}", root / files[0])
    else:
        inspection.undecided.append(
            "no tests found (no pytest configuration, no tests/ folder, no test*.py): the "
            "coverage gate needs service.tests"
        )


def _pytest_configured(root: Path) -> str | None:
    tool = _pyproject(root).get("tool")
    pytest_tool = tool.get("pytest") if isinstance(tool, dict) else None
    if isinstance(pytest_tool, dict) and "ini_options" in pytest_tool:
        return "pyproject.toml"
    for name, section in (
        ("pytest.ini", "pytest"),
        ("tox.ini", "pytest"),
        ("setup.cfg", "tool:pytest"),
    ):
        path = root / name
        if path.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(path, encoding="utf-8")
            except configparser.Error:
                continue
            if parser.has_section(section):
                return name
    return None


def find_alembic(inspection: Inspection) -> Path | None:
    """``alembic.ini`` (here or one folder down) and its ``env.py``; the revisions."""
    root = inspection.root
    ini = next(
        (
            path
            for path in [root / "alembic.ini", *sorted(root.glob("*/alembic.ini"))]
            if path.is_file()
        ),
        None,
    )
    if ini is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(ini, encoding="utf-8")
        location = parser.get("alembic", "script_location")
    except configparser.Error:
        inspection.undecided.append(f"{ini.relative_to(root)}: no [alembic] script_location")
        return None
    location = location.replace("%(here)s", str(ini.parent))
    scripts = Path(location) if Path(location).is_absolute() else ini.parent / location
    env_py = scripts / "env.py"
    if not env_py.is_file():
        inspection.undecided.append(
            f"{ini.relative_to(root)}: script_location {location} has no env.py"
        )
        return None
    inspection.migrations = ini.relative_to(root).as_posix()
    if scripts.resolve().is_relative_to(root):
        inspection.migration_scripts = scripts.resolve().relative_to(root).as_posix()
    inspection.uses_database = True
    inspection.revisions = sorted((scripts / "versions").glob("*.py"))
    inspection.note("migrations", f"Alembic, {len(inspection.revisions)} revision(s)", ini)
    return env_py
