"""Run the service's test command under coverage.py and read back what it measured.

Why not ``coverage``'s own thresholds: ``fail_under`` rounds (79.5 passes 80), has no per-path
targets and cannot see changed files missing from the data. opsctl only uses coverage.py to
*measure* (branch coverage on, subprocesses counted, every file of ``service.source`` listed even
when never imported) and judges the numbers itself (:mod:`opsctl.gates.coverage.thresholds`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.gates.interface import GateError
from opsctl.gates.tools import ToolRun, run_tool

_PYTHON_NAMES = {"python", "python3", Path(sys.executable).name}
# Variables a parent coverage run (opsctl's own tests, say) would leak into the service's tests.
_COVERAGE_VARIABLES = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "COVERAGE_RCFILE")


@dataclass
class TestRun:
    """The test command's outcome, and what coverage.py recorded."""

    run: ToolRun
    report: dict[str, Any] | None  # coverage.py's JSON report; None: no data
    failing_tests: list[str] = field(default_factory=list)
    tests_counted: int | None = None  # from the JUnit file, when there is one
    problems: list[str] = field(default_factory=list)  # why the data cannot be trusted
    concurrency: tuple[str, ...] = ("thread",)  # coverage.py's `concurrency` for this run
    notes: list[str] = field(default_factory=list)  # what the measurement could not see


def concurrency_for(*, same_interpreter: bool) -> tuple[tuple[str, ...], str | None]:
    """coverage.py's ``concurrency`` for the test run, and a note when it had to fall back.

    Async SQLAlchemy runs each database call in a greenlet (``greenlet_spawn``): traced as
    ``thread`` only, the lines after such an ``await`` are lost. Naming ``greenlet`` makes
    coverage.py start up with an error where greenlet cannot be imported, so it is named only
    when the tests run in opsctl's own interpreter and greenlet imports there. Otherwise the
    run stays on ``thread``, and the note says greenlet-run lines may show as missed.
    """
    if same_interpreter and importlib.util.find_spec("greenlet") is not None:
        return ("greenlet", "thread"), None
    where = "in opsctl's interpreter" if same_interpreter else "known for this test command"
    return ("thread",), (
        f"coverage measured threads only (greenlet not {where}): lines run inside "
        "greenlets (async SQLAlchemy, gevent) may show as missed"
    )


def write_rcfile(
    path: Path,
    *,
    sources: Sequence[Path],
    data_file: Path,
    concurrency: Sequence[str] = ("thread",),
) -> None:
    """coverage.py settings opsctl relies on; the service's own settings are not read."""
    source_lines = "\n".join(f"    {source}" for source in sources)
    path.write_text(
        "[run]\n"
        "branch = True\n"
        "parallel = True\n"
        f"concurrency = {','.join(concurrency)}\n"
        "patch = subprocess\n"  # code run in subprocesses counts (coverage 7.10+)
        "relative_files = True\n"
        f"data_file = {data_file}\n"
        f"source =\n{source_lines}\n"
        "[report]\n"
        "precision = 2\n",
        encoding="utf-8",
    )


#: pytest plugins of opsctl's own environment that a service's tests must not get unasked:
#: pytest-alembic's collector binds to any tests/conftest.py (and crashes on pytest 9).
OPSCTL_PLUGINS = {"pytest_alembic": ("pytest-alembic", "pytest_alembic")}
_DECLARING_FILES = ("pyproject.toml", "setup.cfg", "conftest.py", "tests/conftest.py")


def foreign_plugins(root: Path | None) -> list[str]:
    """``-p no:NAME`` for opsctl's plugins the service in ``root`` does not name itself."""
    if root is None:
        return []
    texts = [
        path.read_text(encoding="utf-8", errors="replace")
        for path in [*(root / name for name in _DECLARING_FILES), *root.glob("requirements*")]
        if path.is_file()
    ]
    disabled = []
    for plugin, spellings in OPSCTL_PLUGINS.items():
        named = any(spelling in text for text in texts for spelling in spellings)
        if not named and importlib.util.find_spec(plugin) is not None:
            disabled += ["-p", f"no:{plugin}"]
    return disabled


def build_command(
    test_command: Sequence[str], rcfile: Path, junit: Path, root: Path | None = None
) -> tuple[list[str], bool]:
    """The command to run, and whether it runs under ``coverage run`` (else via the .pth hook).

    A bare ``python -m X`` / ``python script`` / ``pytest`` runs under ``coverage run`` with the
    Python that runs opsctl; any other command (an interpreter given by its path included) runs
    as given with ``COVERAGE_PROCESS_START`` set, so every Python process it starts measures
    itself (coverage's ``.pth`` start-up hook, which needs coverage installed there).
    """
    command = list(test_command)
    if not command:
        raise GateError("service.tests is empty: give the test command as an argument list")
    wrapped = [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}"]
    head = command[0] if "/" not in command[0] else ""
    if head in _PYTHON_NAMES and len(command) > 1 and command[1] == "-c":
        # `coverage run` has no `-c`: run the code as given, in opsctl's Python, measured by
        # coverage's start-up hook (wrapped, coverage itself would fail with "no such option")
        return [sys.executable, *command[1:]], False
    if head in _PYTHON_NAMES and len(command) > 1:
        rest = command[1:]
        is_pytest = rest[:2] == ["-m", "pytest"]
        full = wrapped + rest
    elif head in ("pytest", "py.test"):
        is_pytest = True
        full = [*wrapped, "-m", "pytest", *command[1:]]
    else:
        return command, False
    if is_pytest:
        full += [*foreign_plugins(root), f"--junitxml={junit}"]
    return full, True


def run_tests(
    *,
    test_command: Sequence[str],
    root: Path,
    sources: Sequence[Path],
    workdir: Path,
    environ: Mapping[str, str],
    timeout_s: float,
    cancelled: threading.Event,
) -> TestRun:
    """Run the tests under coverage in ``root``; combine and export the data from ``workdir``."""
    rcfile = workdir / "coveragerc"
    junit = workdir / "junit.xml"
    command, under_coverage_run = build_command(test_command, rcfile, junit, root)
    # `coverage run` (and `python -c`) use this very interpreter; other commands start a Python
    # of their own
    same_interpreter = under_coverage_run or command[0] == sys.executable
    concurrency, note = concurrency_for(same_interpreter=same_interpreter)
    write_rcfile(rcfile, sources=sources, data_file=workdir / ".coverage", concurrency=concurrency)
    env = {k: v for k, v in environ.items() if k not in _COVERAGE_VARIABLES}
    if not under_coverage_run:
        env["COVERAGE_PROCESS_START"] = str(rcfile)
    run = run_tool(
        command, cwd=root, env=env, timeout_s=timeout_s, cancelled=cancelled, name="tests"
    )
    result = TestRun(run=run, report=None, concurrency=concurrency)
    if note is not None:
        result.notes.append(note)
    if junit.is_file():
        result.failing_tests, result.tests_counted = read_junit(junit)
    result.report = _export(rcfile, root, workdir, env, timeout_s, cancelled, result.problems)
    return result


_HOW_TO_GET_DATA = (
    "make service.tests run the service's tests (`python -m pytest`, `pytest`, or a command "
    "whose Python processes coverage can follow) and have them import the code in service.source"
)

# One interpreter combines the parallel data files and writes the JSON report (two
# `coverage` commands would pay Python's start-up twice).
_EXPORT = """
import sys
import coverage
from coverage.exceptions import CoverageException
try:
    cov = coverage.Coverage(config_file=sys.argv[1])
    cov.combine([sys.argv[2]])
    cov.save()
    cov.json_report(outfile=sys.argv[3])
except CoverageException as error:
    print(error, file=sys.stderr)
    sys.exit(1)
"""


def _export(
    rcfile: Path,
    root: Path,
    workdir: Path,
    env: Mapping[str, str],
    timeout_s: float,
    cancelled: threading.Event,
    problems: list[str],
) -> dict[str, Any] | None:
    out = workdir / "coverage.json"
    export = run_tool(
        [sys.executable, "-c", _EXPORT, str(rcfile), str(workdir), str(out)],
        cwd=root, env=env, timeout_s=timeout_s, cancelled=cancelled, name="coverage report",
    )  # fmt: skip
    if export.returncode != 0 or not out.is_file():
        problems.append(
            f"coverage recorded no usable data ({_last_line(export)}): {_HOW_TO_GET_DATA}"
        )
        return None
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    files: dict[str, Any] = data.get("files", {})
    if not any(entry.get("executed_lines") for entry in files.values()):
        # Only the never-run files `source` adds: nothing of the service ran under coverage, so
        # 0 % would be a guess (a test command coverage could not follow looks the same).
        problems.append(
            "coverage recorded no data of service.source: the test command ran, but not one "
            f"line of the service's code ran under coverage; {_HOW_TO_GET_DATA}"
        )
        return None
    return data


def read_junit(path: Path) -> tuple[list[str], int | None]:
    """Names of failed or errored tests in a JUnit XML file, and how many tests it holds."""
    try:
        tree = ET.parse(path)  # noqa: S314 - our own temporary file, written by pytest
    except ET.ParseError:
        return [], None
    failing: list[str] = []
    count = 0
    for case in tree.iter("testcase"):
        count += 1
        if case.find("failure") is not None or case.find("error") is not None:
            classname = case.get("classname", "")
            name = case.get("name", "?")
            failing.append(f"{classname}::{name}" if classname else name)
    return failing, count


def _last_line(run: ToolRun) -> str:
    lines = [line for line in (run.stderr + run.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {run.returncode}"


def clean_environ() -> dict[str, str]:
    """This process's environment, for the test command to extend."""
    return dict(os.environ)
