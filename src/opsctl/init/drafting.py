"""From an inspection to the files `opsctl init` writes, measuring what it must measure."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.init import rendering
from opsctl.init.files import PlannedFile, plan, validate
from opsctl.init.inspection import Inspection
from opsctl.init.rendering import COMPLEX_MS, SIMPLE_MS
from opsctl.load.declared import declared_operations

if TYPE_CHECKING:
    from opsctl.config.models import LoadedProject
    from opsctl.definition_of_done import DefinitionOfDone


@dataclass
class Draft:
    """The files to write, the thresholds they carry, and what the user should know."""

    planned: list[PlannedFile]
    ratchet: rendering.Ratchet
    notes: list[str] = field(default_factory=list)


def existing_lint_rules(inspection: Inspection) -> list[str]:
    """Safety-lint rules the existing revisions hit (the lint reads code; nothing runs)."""
    from opsctl.gates.migrations.lint import lint_file

    rules: set[str] = set()
    for path in inspection.revisions:
        try:
            findings = lint_file(path, path.stem, path.name, set(), set())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        rules.update(finding.rule.removeprefix("migrations/") for finding in findings)
    return sorted(rule for rule in rules if re.fullmatch(r"MIG\d{3}", rule))


def existing_coverage_floor(root: Path) -> float | None:
    """``coverage.total`` of the Definition of Done already there: a second run keeps it."""
    import yaml

    path = root / rendering.DEFINITION_OF_DONE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    coverage = data.get("coverage") if isinstance(data, dict) else None
    total = coverage.get("total") if isinstance(coverage, dict) else None
    return float(total) if isinstance(total, int | float) and not isinstance(total, bool) else None


#: Where services keep their Locust files, in the order `init` looks.
SCENARIO_GLOBS = (
    "locustfile.py",
    "loadtests/*.py",
    "load_tests/*.py",
    "locust/*.py",
    "tests/load/*.py",
)
DRAFTED_MARK = "# Written by `opsctl init`"
_IMPORTS_LOCUST = re.compile(r"^\s*(from|import) locust\b", re.M)


def existing_scenario(root: Path) -> Path | None:
    """A Locust file the repository already has (it imports locust)."""
    for pattern in SCENARIO_GLOBS:
        for path in sorted(root.glob(pattern)):
            text = path.read_text(encoding="utf-8", errors="replace")
            drafted = text.startswith(DRAFTED_MARK)  # init's own: drafted again
            if path.name != "__init__.py" and _IMPORTS_LOCUST.search(text) and not drafted:
                return path
    return None


def scenario_slas(scenario: Path) -> list[tuple[str, str, int]]:
    """SLAs for a scenario's declared operations: per tag, else per operation.

    ``simple`` gets the role description's 200 ms and every other tag its 500 ms for complex
    operations; untagged operations each get 200 ms.
    """
    operations = declared_operations(scenario)
    tags = sorted({tag for tagged in operations.values() for tag in tagged})
    slas = [("tag", tag, SIMPLE_MS if tag == "simple" else COMPLEX_MS) for tag in tags]
    slas += [("operation", name, SIMPLE_MS) for name, tagged in operations.items() if not tagged]
    return slas


def draft_scenario(inspection: Inspection, notes: list[str]) -> tuple[str, str, list[str]] | None:
    """A starting Locust scenario from the app's routes: its path and text, or None."""
    if inspection.app is None or inspection.app_framework is None:
        return None
    if inspection.api == "graphql":
        notes.append(
            "load: a GraphQL service needs a scenario of its operations; write one "
            "(loadtests/reference_api.py in opsctl's repository is a model) and add a load section"
        )
        return None
    from opsctl.init.openapi_document import read_routes
    from opsctl.init.openapi_scenario import scenario_from_openapi

    document, error = read_routes(
        inspection.app,
        factory=inspection.app_is_factory,
        root=inspection.root,
        database_env=inspection.database_env,
        required=inspection.required_settings,
    )
    if document is None:
        notes.append(f"load: no scenario drafted, {error}")
        return None
    url = document.pop("x-opsctl-openapi-url", None)
    if isinstance(url, str):
        inspection.openapi_url = url
        inspection.note("API", f"OpenAPI ({url})", "the app")
    draft = scenario_from_openapi(document, service_name=inspection.name, placeholders=False)
    if not draft.operations:
        notes.append("load: the app has no read-only route a starting scenario can call")
        return None
    slug = re.sub(r"[^a-z0-9]+", "_", inspection.name.lower()).strip("_") or "service"
    path = f"loadtests/{slug}.py"
    skipped = (
        f"; {len(draft.skipped)} left out (writes, unfillable parameters)" if draft.skipped else ""
    )
    notes.append(f"load: {path} calls {len(draft.operations)} read-only route(s){skipped}")
    notes.extend(f"load: {note}" for note in draft.notes)
    return path, draft.source, draft.operations


def draft(
    inspection: Inspection,
    *,
    ci: list[str],
    measure: bool,
    progress: Callable[[str], None] = lambda _message: None,
) -> Draft:
    """The files for ``inspection``; with ``measure``, the coverage floor measured today."""
    notes: list[str] = []
    ratchet = rendering.Ratchet()
    if inspection.migrations:
        ratchet.lint_rules = existing_lint_rules(inspection)
        if ratchet.lint_rules:
            notes.append(
                f"migrations: existing revisions hit {', '.join(ratchet.lint_rules)}: reported, "
                "not blocking (the `warn` list of the Definition of Done)"
            )
    if not measure:
        ratchet.coverage_total = existing_coverage_floor(inspection.root)
    files: dict[str, str] = {}
    found = existing_scenario(inspection.root) if inspection.app else None
    if found is not None:
        ratchet.scenario = found.relative_to(inspection.root).as_posix()
        ratchet.slas = scenario_slas(found)
        ratchet.scenario_operations = sorted(declared_operations(found))
        inspection.note("load scenario", ratchet.scenario, found)
        if not ratchet.slas:
            notes.append(f"load: {ratchet.scenario} declares no operation opsctl can see")
            ratchet.scenario = None
    else:
        scenario = draft_scenario(inspection, notes)
        if scenario is not None:
            ratchet.scenario, text, ratchet.scenario_operations = scenario
            ratchet.slas = [("tag", "simple", SIMPLE_MS)]
            ratchet.scenario_drafted = True
            files[ratchet.scenario] = text
    for kind in ci:
        path, text = rendering.ci_workflow(kind, inspection)
        files[path] = text

    def render() -> dict[str, str]:
        return {
            "opsctl.yaml": rendering.opsctl_yaml(inspection),
            rendering.DEFINITION_OF_DONE: rendering.definition_of_done(inspection, ratchet),
            **files,
        }

    environ = {**os.environ, **dict.fromkeys(inspection.required_settings, "opsctl-init")}
    planned = plan(inspection.root, render())
    project, done = validate(inspection.root, planned, environ)
    if measure and inspection.has_tests:
        progress("measuring coverage (the service's tests, on a throwaway database)")
        ratchet.coverage_total = _measure_coverage(project, done, notes, progress)
        planned = plan(inspection.root, render())
        validate(inspection.root, planned, environ)
    return Draft(planned, ratchet, notes)


def _measure_coverage(
    project: LoadedProject,
    done: DefinitionOfDone,
    notes: list[str],
    progress: Callable[[str], None],
) -> float | None:
    from opsctl.gates.coverage.gate import CoverageGate
    from opsctl.gates.interface import GateContext, Status

    environment = project.config.environments["local"]
    context = GateContext(
        project=project,
        definition_of_done=done,
        environment_name="local",
        environment=environment,
        progress=progress,
    )
    try:
        result = CoverageGate().run(context)
    except Exception as error:
        notes.append(f"coverage: not measured ({error}); no floor set")
        return None
    total = next((m.value for m in result.measurements if m.name == "total coverage"), None)
    if result.status is not Status.PASSED or total is None:
        why = result.summary or result.status.value
        notes.append(f"coverage: not measured ({why}); no floor set")
        return None
    notes.append(f"coverage: measured {total:.2f} %, floor {int(total)} %")
    return float(total)
