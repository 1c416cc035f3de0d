"""Run the service's test command under coverage.py and read back what it measured.

Why not ``coverage``'s own thresholds: ``fail_under`` rounds (79.5 passes 80), has no per-path
targets and cannot see changed files missing from the data. opsctl only uses coverage.py to
*measure* (branch coverage on, subprocesses counted, every file of ``service.source`` listed even
when never imported) and judges the numbers itself (:mod:`opsctl.gates.coverage.thresholds`).
The data is combined and exported by :mod:`opsctl.gates.coverage.export_data`, in a fresh
interpreter; what the environment may not change is in :mod:`opsctl.gates.coverage.isolation`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.gates.coverage.isolation import owned_environment
from opsctl.gates.coverage.junit_results import JunitResults, read_junit
from opsctl.gates.coverage.source_files import omit_patterns, python_files, report_name
from opsctl.gates.interface import GateError
from opsctl.gates.tools import ToolRun, run_tool

_PYTHON_NAMES = {"python", "python3", Path(sys.executable).name}


@dataclass
class TestRun:
    """The test command's outcome, and what coverage.py recorded."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    run: ToolRun
    # coverage.py's JSON report, plus the files it did not list; None: no data
    report: dict[str, Any] | None
    junit: JunitResults | None = None  # pytest's JUnit report, when there is one
    junit_file: Path | None = None
    problems: list[str] = field(default_factory=list)  # why the data cannot be trusted
    concurrency: tuple[str, ...] = ("thread",)  # coverage.py's `concurrency` for this run
    notes: list[str] = field(default_factory=list)  # what the measurement could not see
    environment_overridden: list[str] = field(default_factory=list)  # names, never values
    data_files: int = 0  # coverage data files combined
    not_combined: list[str] = field(default_factory=list)  # data files coverage could not read
    unreported: list[str] = field(default_factory=list)  # in the source, not in coverage's list
    unparsable: dict[str, str] = field(default_factory=dict)  # file -> coverage.py's reason
    artifacts: dict[str, str] = field(default_factory=dict)  # kind -> path (work folder)
    artifact_problems: list[str] = field(default_factory=list)


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
    """coverage.py settings opsctl relies on; the service's own settings are not read.

    ``include_namespace_packages``: coverage.py lists the never-run files of folders without
    ``__init__.py`` too (else untested code there is invisible to the total). ``ignore_errors``:
    a file it cannot parse is left out of the report, not the whole report lost; opsctl's
    reconciliation with its own walk of the source then names it. ``omit``: the folders that
    walk leaves out (:mod:`opsctl.gates.coverage.source_files`).
    """
    source_lines = "\n".join(f"    {source}" for source in sources)
    omit_lines = "\n".join(f"    {pattern}" for pattern in omit_patterns(sources))
    path.write_text(
        "[run]\n"
        "branch = True\n"
        "parallel = True\n"
        f"concurrency = {','.join(concurrency)}\n"
        "patch = subprocess\n"  # code run in subprocesses counts (coverage 7.10+)
        "relative_files = True\n"
        f"data_file = {data_file}\n"
        f"source =\n{source_lines}\n"
        f"omit =\n{omit_lines}\n"
        "[report]\n"
        "precision = 2\n"
        "include_namespace_packages = True\n"
        "ignore_errors = True\n",
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
    declared_env: Collection[str] = (),
    timeout_s: float,
    cancelled: threading.Event,
    artifacts: Path | None = None,
    title: str = "coverage",
) -> TestRun:
    """Run the tests under coverage in ``root``; combine and export the data from ``workdir``.

    ``environ`` loses coverage.py's and pytest's variables first (``declared_env``: the
    ``PYTEST_*`` ones the service sets itself); ``artifacts``: a folder for the Cobertura, LCOV
    and HTML reports.
    """
    rcfile = workdir / "coveragerc"
    junit = workdir / "junit.xml"
    command, under_coverage_run = build_command(test_command, rcfile, junit, root)
    # `coverage run` (and `python -c`) use this very interpreter; other commands start a Python
    # of their own
    same_interpreter = under_coverage_run or command[0] == sys.executable
    concurrency, note = concurrency_for(same_interpreter=same_interpreter)
    write_rcfile(rcfile, sources=sources, data_file=workdir / ".coverage", concurrency=concurrency)
    env, overridden = owned_environment(environ, declared_env)
    if not under_coverage_run:
        env["COVERAGE_PROCESS_START"] = str(rcfile)
    run = run_tool(
        command, cwd=root, env=env, timeout_s=timeout_s, cancelled=cancelled, name="tests"
    )
    result = TestRun(run=run, report=None, concurrency=concurrency)
    result.environment_overridden = overridden
    if note is not None:
        result.notes.append(note)
    if junit.is_file():
        result.junit = read_junit(junit, root)
        result.junit_file = junit
    walked = [str(path) for path in python_files(sources)]
    job = {
        "rcfile": str(rcfile),
        "workdir": str(workdir),
        "report": str(workdir / "coverage.json"),
        "result": str(workdir / "export.json"),
        "walked": walked,
        "artifacts": str(artifacts) if artifacts is not None else None,
        "title": title,
    }
    _export(job, root, timeout_s, cancelled, result)
    return result


_HOW_TO_GET_DATA = (
    "make service.tests run the service's tests (`python -m pytest`, `pytest`, or a command "
    "whose Python processes coverage can follow) and have them import the code in service.source"
)
_EXPORT_SCRIPT = Path(__file__).with_name("export_data.py")


def _export(
    job: dict[str, Any],
    root: Path,
    timeout_s: float,
    cancelled: threading.Event,
    result: TestRun,
) -> None:
    """Run :mod:`export_data` on ``job``; fill ``result``'s report, or say why there is none."""
    job_file = Path(job["workdir"]) / "export-job.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    # opsctl's own environment, without what would redirect coverage.py (COVERAGE_FILE...);
    # -P: the script's folder (opsctl's modules) does not shadow anything it imports
    env, _ = owned_environment(os.environ, ())
    export = run_tool(
        [sys.executable, "-P", str(_EXPORT_SCRIPT), str(job_file)],
        cwd=root, env=env, timeout_s=timeout_s, cancelled=cancelled, name="coverage report",
    )  # fmt: skip
    outcome_file = Path(job["result"])
    if export.returncode != 0 or not outcome_file.is_file():
        result.problems.append(
            f"coverage recorded no usable data ({_last_line(export)}): {_HOW_TO_GET_DATA}"
        )
        return
    outcome: dict[str, Any] = json.loads(outcome_file.read_text(encoding="utf-8"))
    result.data_files = int(outcome["data_files"])
    result.not_combined = list(outcome["not_combined"])
    result.artifacts = dict(outcome["artifacts"])
    result.artifact_problems = list(outcome.get("artifact_problems", []))
    result.unparsable = {
        report_name(Path(name), root): message for name, message in outcome["unparsable"].items()
    }
    data: dict[str, Any] = json.loads(Path(job["report"]).read_text(encoding="utf-8"))
    files: dict[str, Any] = data.get("files", {})
    if not any(entry.get("executed_lines") for entry in files.values()):
        # Only the never-run files `source` adds: nothing of the service ran under coverage, so
        # 0 % would be a guess (a test command coverage could not follow looks the same).
        result.problems.append(
            "coverage recorded no data of service.source: the test command ran, but not one "
            f"line of the service's code ran under coverage; {_HOW_TO_GET_DATA}"
        )
        return
    result.unreported = add_unreported(data, outcome["unreported"])
    result.report = data


def add_unreported(report: dict[str, Any], unreported: Mapping[str, Any]) -> list[str]:
    """Add the files coverage.py did not list (none of their code ran) to ``report``, totals
    included; their names."""
    totals: dict[str, Any] = report["totals"]
    for name, entry in unreported.items():
        report["files"][name] = entry
        for key, value in entry["summary"].items():
            if isinstance(value, int) and isinstance(totals.get(key), int):
                totals[key] += value
    statements = int(totals["num_statements"]) + int(totals.get("num_branches", 0))
    covered = int(totals["covered_lines"]) + int(totals.get("covered_branches", 0))
    totals["percent_covered"] = 100.0 * covered / statements if statements else 100.0
    totals.pop("percent_covered_display", None)
    return sorted(unreported)


def _last_line(run: ToolRun) -> str:
    lines = [line for line in (run.stderr + run.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {run.returncode}"
