"""Fuzzing: schemathesis as the input-validation engine, for GraphQL and REST (OpenAPI).

The oracle is schemathesis' checks: no 5xx (for GraphQL: no error with a ``path``, i.e. a
resolver failed), no response outside the schema, and its other conformance checks; bounded in
examples per operation (``api.fuzzing.max_examples``, with a fixed seed) and in wall-clock
time (``api.fuzzing.max_time``, enforced here by stopping schemathesis' process group).
Each finding names the operation and carries schemathesis' ``curl`` reproduction.

A run that cannot judge is never a pass: the schema did not load, no operation was found, no
test case ran, or the time ran out before every operation was tried. Fuzzing calls mutations,
which is why the family never runs against a protected environment.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsctl.gates.api import fuzzing_process, fuzzing_reports
from opsctl.gates.api.fuzzing_reports import Failure, Report
from opsctl.gates.api.probe import (
    MAX_WAIT_S,
    ProbeFinding,
    ProbeIncomplete,
    ProbeNotRun,
    ProbeTarget,
)
from opsctl.gates.api.settings import ApiSettings
from opsctl.gates.interface import Severity

#: ``target.extra`` key: what the last run did (operations, examples, seconds, version, …).
EXTRA_KEY = "fuzzing"

#: Failure codes that mean "the server failed" whichever check raised them.
_SERVER_ERROR = frozenset({"ST101", "ST102", "ST113"})  # 5xx, 5xx on a content type, path error
_SCHEMA_VIOLATION = frozenset({"ST108", "ST114"})  # REST response schema, GraphQL non-null
_FIXES = {
    "api/fuzz-server-error": (
        "validate the input and answer a 4xx (GraphQL: an error without a path) for what the "
        "service cannot handle; never let an exception through as a 500 or a resolver error"
    ),
    "api/fuzz-schema-violation": (
        "make the response match the schema it declares (or correct the schema): clients "
        "generated from it break on this answer"
    ),
}


def fuzz(target: ProbeTarget) -> list[ProbeFinding]:
    """Run schemathesis against the service and turn its failures into findings."""
    if target.protected:
        raise ProbeNotRun("fuzzing calls mutations: never against a protected environment")
    if importlib.util.find_spec("schemathesis") is None:
        raise ProbeIncomplete("schemathesis is not installed (it is one of opsctl's dependencies)")
    settings = target.settings or ApiSettings()
    with tempfile.TemporaryDirectory(prefix="opsctl-fuzz-") as scratch:
        directory = Path(scratch)
        arguments, shown = _arguments(target, settings, directory)
        finished = fuzzing_process.run(arguments, directory, settings.fuzzing.max_time)
        report = fuzzing_reports.read(directory)
    summary = _summary(report, finished, shown)
    target.extra[EXTRA_KEY] = summary
    _loaded(report, finished, settings, shown)
    findings = _findings(report, frozenset(c.upper() for c in settings.fuzzing.client_error_codes))
    untried = _untried(report, finished)
    if untried:
        summary["incomplete"] = untried
    if not findings:
        summary["reported"] = True  # what follows is raised here: the completeness probe is quiet
        if untried:
            raise ProbeIncomplete(untried)
        if report.operations == 0:
            raise ProbeIncomplete("schemathesis found no operation in the schema")
        if not report.examples:
            raise ProbeIncomplete("schemathesis ran no test case")
    return findings


def completeness(target: ProbeTarget) -> list[ProbeFinding]:
    """Incomplete when the fuzz run found holes but did not try every operation.

    :func:`fuzz` returns its findings then (they fail the gate), so this probe keeps the
    untried operations visible: accepting those findings must not turn the run into a pass.
    """
    summary: dict[str, Any] | None = target.extra.get(EXTRA_KEY)
    if summary is None:
        raise ProbeNotRun("the fuzz run did not happen")
    if summary.get("incomplete") and not summary.get("reported"):
        raise ProbeIncomplete(str(summary["incomplete"]))
    return []


def _arguments(
    target: ProbeTarget, settings: ApiSettings, directory: Path
) -> tuple[list[str], str]:
    """``st run`` arguments, and the command line to show (the auth header's value hidden)."""
    fuzzing = settings.fuzzing
    if settings.kind == "rest":
        location, phases = [target.url(settings.openapi)], "examples,coverage,fuzzing"
    elif settings.schema_files:
        # The SDL is the contract of record, and production services refuse introspection.
        from opsctl.gates.api.schema_source import sdl_paths

        paths = sdl_paths(Path(target.extra.get("project_root", ".")), settings.schema_files)
        sdl = directory / "schema.graphql"
        sdl.write_text("\n".join(p.read_text(encoding="utf-8") for p in paths), encoding="utf-8")
        location, phases = [str(sdl), "--url", target.graphql_url], "fuzzing"
    else:
        location, phases = [target.graphql_url], "fuzzing"  # the others do not support GraphQL
    arguments = [
        "run", *location,
        "--phases", phases,
        "--max-examples", str(fuzzing.max_examples),
        "--seed", str(fuzzing.seed),
        "--request-timeout", f"{min(max(5 * target.budget_s, 3.0), MAX_WAIT_S):g}",
        "--workers", "1",  # the same run, run after run, and a gentle load on the service
        "--generation-database", "none",  # no examples carried over from an earlier run
        "--no-color",
        # valid input refused is a business rule ("this email is taken"), not a hole
        "--exclude-checks", "positive_data_acceptance",
        "--report", "json,ndjson,junit",
        "--report-json-path", fuzzing_reports.JSON_REPORT,
        "--report-ndjson-path", fuzzing_reports.NDJSON_REPORT,
        "--report-junit-path", fuzzing_reports.JUNIT_REPORT,
    ]  # fmt: skip
    shown = list(arguments)
    header = target.extra.get("auth_header")
    if isinstance(header, tuple | list) and len(header) == 2:
        name, value = (str(part) for part in header)
        arguments += ["--header", f"{name}: {value}"]
        shown += ["--header", f"{name}: ***"]
    return arguments, "st " + shlex.join(shown)


def _summary(report: Report, finished: fuzzing_process.Finished, shown: str) -> dict[str, Any]:
    return {
        "operations": report.operations,
        "operations_tried": len(report.tried),
        "examples": report.examples,
        "seconds": round(finished.seconds, 2),
        "schemathesis": report.version or _installed_version(),
        "stop_reason": "out of time" if finished.out_of_time else report.stop_reason,
        "command": shown,
    }


def _loaded(
    report: Report, finished: fuzzing_process.Finished, settings: ApiSettings, shown: str
) -> None:
    """Raise :class:`ProbeIncomplete` when schemathesis did not get to testing at all."""
    if report.fatal:
        hint = ""
        if settings.kind == "graphql" and not settings.schema_files:
            hint = " (introspection off? name the SDL in api.schema_files)"
        raise ProbeIncomplete(f"schemathesis could not run: {report.fatal}{hint}")
    if report.found_any_report:
        return
    if finished.out_of_time:
        raise ProbeIncomplete(
            f"api.fuzzing.max_time ({settings.fuzzing.max_time:g}s) ran out before "
            "schemathesis loaded the schema"
        )
    raise ProbeIncomplete(
        f"schemathesis stopped (exit {finished.returncode}) without a report: "
        f"{finished.output[-500:]!r}; command: {shown}"
    )


def _untried(report: Report, finished: fuzzing_process.Finished) -> str:
    """Why not every operation was judged ("" when every one was)."""
    ran_out = "the time (api.fuzzing.max_time) ran out" if finished.out_of_time else "it stopped"
    if report.operations is None:
        return f"{ran_out} before schemathesis reported the operations it loaded"
    reasons = []
    skipped = {op: why for op, why in report.skipped.items() if op not in report.tried}
    missing = report.operations - len(report.tried) - len(skipped)
    if missing > 0:
        reasons.append(
            f"{ran_out} with {len(report.tried)} of {report.operations} operations fuzzed"
        )
    reasons += [f"{operation} was not fuzzed: {why}" for operation, why in sorted(skipped.items())]
    failing = {failure.operation for failure in report.failures}
    for operation, error in sorted(report.errors.items()):
        if operation not in failing:
            first = error.splitlines()[0] if error else "an error"
            reasons.append(f"{operation} errored: {first}")
    return "; ".join(reasons)


def _findings(report: Report, client_codes: frozenset[str]) -> list[ProbeFinding]:
    """One finding per operation and probe id: the first test case that failed it."""
    server_failed_cases = {f.case_id for f in report.failures if f.code in _SERVER_ERROR}
    findings: dict[tuple[str, str], ProbeFinding] = {}
    for failure in report.failures:
        if failure.check == "status_code_conformance" and failure.case_id in server_failed_cases:
            continue  # "undocumented 500": the server error, said twice
        if failure.code == "ST113" and _answered_a_client_error(failure, client_codes):
            continue
        probe = _probe_id(failure)
        key = (failure.operation, probe)
        if key not in findings:
            findings[key] = _finding(probe, failure)
    return list(findings.values())


def _answered_a_client_error(failure: Failure, client_codes: frozenset[str]) -> bool:
    """A resolver refused the input with a client error code (NOT_FOUND, BAD_USER_INPUT, ...).

    schemathesis counts every GraphQL error with a ``path`` as a server error, but services
    raise their domain errors in resolvers: only an error without such a code is unexpected.
    """
    try:
        document = json.loads(failure.response_body)
    except ValueError:
        return False
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors:
        return False
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if not isinstance(code, str) or code.upper() not in client_codes:
            return False
    return True


def _probe_id(failure: Failure) -> str:
    if failure.code in _SERVER_ERROR:
        return "api/fuzz-server-error"
    if failure.code in _SCHEMA_VIOLATION:
        return "api/fuzz-schema-violation"
    name = "-".join(part for part in failure.check.lower().replace("_", "-").split("-") if part)
    return f"api/fuzz-{''.join(c for c in name if c.isalnum() or c == '-') or 'check'}"


def _finding(probe: str, failure: Failure) -> ProbeFinding:
    detail = failure.message.strip().splitlines()[0] if failure.message.strip() else ""
    sent = failure.request or failure.operation
    if failure.request_body:
        sent += f" with body {failure.request_body[:500]!r}"
    status = "no answer" if failure.status is None else f"HTTP {failure.status}"
    return ProbeFinding(
        probe=probe,
        message=(
            f"{failure.operation}: {failure.title} ({failure.code})"
            + (f": {detail[:200]}" if detail else "")
        ),
        sent=sent,
        received=f"{status}; body: {failure.response_body[:300]!r}",
        fix=_FIXES.get(probe, f"see `st explain {failure.code}` (schemathesis)"),
        # a 5xx and an answer outside the declared schema fail; schemathesis' other conformance
        # checks (an undocumented 404, an Allow header) are reported, as most services have some
        severity=Severity.ERROR if probe in _FIXES else Severity.WARNING,
        curl=failure.curl or _curl(failure),
    )


def _curl(failure: Failure) -> str:
    """A reproduction from the recorded request, when the JUnit report had none."""
    method, _, url = failure.request.partition(" ")
    if not url:
        return ""
    parts = ["curl", "-X", method, shlex.quote(url)]
    if failure.request_body:
        parts += ["--data-binary", shlex.quote(failure.request_body[:4000])]
    return " ".join(parts)


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("schemathesis")
    except PackageNotFoundError:
        return "not installed"


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [fuzz, completeness]
