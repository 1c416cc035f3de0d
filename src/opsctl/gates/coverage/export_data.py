"""Combine the test run's coverage data and export it: run by the gate as a script of its own.

``python -P export_data.py JOB.json`` in a fresh interpreter, with no ``COVERAGE_*`` variable
(coverage.py would let ``COVERAGE_FILE`` replace the gate's data file) and without importing
opsctl: only coverage.py. One interpreter does every step, so Python starts once:

1. combine **strictly** the data files the tests wrote into the gate's work folder: none there
   is an error (the tests wrote their data elsewhere, or ran no Python under coverage), never
   an empty or a stale report; a file coverage.py could not read stays behind and is named;
2. check that the combined data file is inside the work folder;
3. write coverage.py's JSON report (``[report] ignore_errors``: a file it cannot parse is left
   out instead of losing the whole report);
4. reconcile it with opsctl's own list of the source's ``.py`` files: each one missing from the
   report is analysed on its own (coverage.py counts its statements and branches, none run),
   or named with coverage.py's reason when it cannot be parsed;
5. on request, write the artifacts users upload elsewhere (Cobertura XML, LCOV, HTML), over
   the same files the gate judges.

The outcome is one JSON object (``JOB["result"]``); an error ends with exit 1 and one line on
stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import coverage
from coverage.exceptions import CoverageException, NoDataError


class ExportError(Exception):
    """The data cannot be trusted: the gate reports this message as the reason."""


def combine(cov: coverage.Coverage, workdir: Path) -> dict[str, Any]:
    data_files = sorted(workdir.glob(".coverage.*"))
    try:
        cov.combine([str(workdir)], strict=True)
    except NoDataError:
        raise ExportError(
            "the test run left no coverage data file in the gate's work folder: the test "
            "command ran no Python under coverage, or made coverage write its data elsewhere"
        ) from None
    # a combined file is deleted; one coverage.py could not read is left where it was
    not_combined = [path.name for path in data_files if path.exists()]
    data_file = Path(cov.get_data().data_filename()).resolve()
    if workdir.resolve() not in data_file.parents:
        raise ExportError(f"coverage combined its data into {data_file}, outside its work folder")
    cov.save()
    return {
        "data_files": len(data_files) - len(not_combined),
        "not_combined": not_combined,
        "data_file": str(data_file),
    }


def unreported_files(
    cov: coverage.Coverage, reported: dict[str, Any], walked: list[str], scratch: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """Report entries for the walked files missing from ``reported``, and those that fail."""
    listed = {Path(name).resolve() for name in reported}
    missing = [name for name in walked if Path(name).resolve() not in listed]
    if not missing:
        return {}, {}
    files: dict[str, Any] = {}
    try:
        cov.json_report(morfs=missing, outfile=str(scratch), ignore_errors=True)
        files = json.loads(scratch.read_text(encoding="utf-8"))["files"]
    except NoDataError:  # not one of them could be analysed
        pass
    analysed = {Path(name).resolve() for name in files}
    unparsable: dict[str, str] = {}
    for name in missing:
        if Path(name).resolve() not in analysed:
            try:
                cov.analysis2(name)
                unparsable[name] = "coverage.py could not analyse it"
            except (CoverageException, OSError, SyntaxError, ValueError) as error:
                unparsable[name] = str(error).splitlines()[0] if str(error) else repr(error)
    return files, unparsable


def write_artifacts(
    cov: coverage.Coverage, folder: Path, morfs: list[str] | None, title: str
) -> tuple[dict[str, str], list[str]]:
    """Cobertura XML, LCOV and HTML in ``folder``: their paths, and what could not be written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    problems: list[str] = []
    for kind, path in (
        ("coverage_xml", folder / "coverage.xml"),
        ("lcov", folder / "coverage.lcov"),
        ("html", folder / "html"),
    ):
        try:
            if kind == "coverage_xml":
                cov.xml_report(morfs, outfile=str(path))
            elif kind == "lcov":
                cov.lcov_report(morfs, outfile=str(path))
            else:
                cov.html_report(morfs, directory=str(path), title=title)
        except (CoverageException, OSError) as error:
            problems.append(f"{kind}: {error}")
            continue
        written[kind] = str(path / "index.html" if kind == "html" else path)
    return written, problems


def main(job_file: str) -> int:
    job: dict[str, Any] = json.loads(Path(job_file).read_text(encoding="utf-8"))
    workdir = Path(job["workdir"])
    try:
        cov = coverage.Coverage(config_file=job["rcfile"])
        outcome = combine(cov, workdir)
        cov.json_report(outfile=job["report"])
        report = json.loads(Path(job["report"]).read_text(encoding="utf-8"))
        unreported, unparsable = unreported_files(
            cov, report["files"], job["walked"], workdir / "unreported.json"
        )
    except (ExportError, CoverageException) as error:
        print(error, file=sys.stderr)
        return 1
    outcome.update(unreported=unreported, unparsable=unparsable, artifacts={})
    if job.get("artifacts"):
        # the same files the gate judges: coverage.py's own, plus the ones it did not list
        morfs = [*report["files"], *unreported] if unreported else None
        written, problems = write_artifacts(cov, Path(job["artifacts"]), morfs, job["title"])
        outcome.update(artifacts=written, artifact_problems=problems)
    Path(job["result"]).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
