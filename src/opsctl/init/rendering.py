"""The files `opsctl init` writes, as text with comments, from an :class:`Inspection`.

YAML is written by hand (not dumped) so that each decision carries its reason as a comment; the
result is validated with opsctl's own models before anything is written
(:mod:`opsctl.init.files`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from opsctl.init.inspection import Inspection

DEFINITION_OF_DONE = "checks/definition-of-done.yaml"
#: The role description's performance standard: P95 below 200 ms for simple operations.
SIMPLE_MS = 200
#: ... and below 500 ms for complex ones.
COMPLEX_MS = 500
LOAD_RATE = 20
LOAD_MIN_SAMPLES = 100


def load_duration_s(operations: int) -> int:
    """A window in which each operation expects twice ``LOAD_MIN_SAMPLES`` at ``LOAD_RATE``."""
    return max(30, -(-2 * LOAD_MIN_SAMPLES * max(operations, 1) // LOAD_RATE))


@dataclass
class Ratchet:
    """Thresholds measured on the service today (``init --measure``), or None."""

    coverage_total: float | None = None
    lint_rules: list[str] = field(default_factory=list)  # rules existing revisions hit
    scenario: str | None = None  # the load scenario, relative to the root
    scenario_drafted: bool = False  # written by `init` (else the repository's own)
    scenario_operations: list[str] = field(default_factory=list)
    slas: list[tuple[str, str, int]] = field(default_factory=list)  # (tag|operation, name, ms)


def _q(value: str) -> str:
    """A YAML scalar that stays a string (JSON strings are YAML)."""
    return json.dumps(value)


def _flow(values: list[str]) -> str:
    return "[" + ", ".join(_q(value) for value in values) + "]"


def opsctl_yaml(inspection: Inspection) -> str:
    lines = [
        "# opsctl's configuration for this service, written by `opsctl init` (keys:",
        "# docs/configuration.md). Yours to edit; `opsctl init` again shows what it would change.",
        "service:",
        f"  name: {_q(inspection.name)}",
        f"  source: {_flow(inspection.source)}",
    ]
    if inspection.app:
        lines.append(f"  app: {_q(inspection.app)}  # {inspection.app_framework}")
    lines.append(f"  tests: {_flow(inspection.tests)}")
    if inspection.migrations:
        lines.append(f"  migrations: {_q(inspection.migrations)}")
    if inspection.metadata:
        lines.append(f"  metadata: {_q(inspection.metadata)}")
    if inspection.lock:
        lines.append(f"  requirements: {_q(inspection.lock)}")
    if inspection.seed:
        lines.append(f"  seed: {_q(inspection.seed)}")
    if inspection.database_env:
        lines.append(
            "  # how the service reads its database: opsctl fills these from the URL of the"
        )
        lines.append("  # database it gives each gate (they win over the service's .env files)")
        lines.append("  database_env:")
        lines.extend(
            f"    {name}: {_q(template)}" for name, template in inspection.database_env.items()
        )
    if inspection.required_settings:
        lines.append("  # settings without a default and not in a .env file: from the environment")
        lines.append("  env:")
        lines.extend(f"    {name}: ${{{name}}}" for name in inspection.required_settings)
    lines.append(f"definition_of_done: {DEFINITION_OF_DONE}")
    lines.append("environments:")
    lines.append("  local:")
    lines.append("    url: http://127.0.0.1:8000")
    if inspection.uses_database:
        lines.append("    # embedded: a private PostgreSQL that opsctl runs; or a server's URL")
        lines.append("    database_url: ${OPSCTL_DATABASE_URL:-embedded}")
    return "\n".join(lines) + "\n"


def definition_of_done(inspection: Inspection, ratchet: Ratchet) -> str:
    lines = [
        "# The Definition of Done that `opsctl verify` enforces, written by `opsctl init` from",
        "# what the service measures today: every threshold passes on day one, and is a floor",
        "# to raise (a ratchet), never to lower. Sections: docs/verify.md.",
    ]
    if inspection.has_tests:
        lines.append("coverage:")
        if inspection.tests_expect_schema:
            lines.append("  # the tests create no tables of their own: migrate to head first")
            lines.append("  migrate: true")
        scripts = inspection.migration_scripts
        if scripts and any(
            scripts == part or scripts.startswith(part.rstrip("/") + "/")
            for part in inspection.source
        ):
            lines.append("  # env.py and the revisions are the migrations gate's to judge")
            lines.append("  # (every file omitted is reported)")
            lines.append(f'  omit: ["{scripts}/**"]')
        if ratchet.coverage_total is None:
            lines.append("  # no floor yet: the tests must pass and coverage is reported;")
            lines.append("  # `opsctl init --measure` measures it and sets the floor")
            lines.append("  total: null")
        else:
            floor = int(ratchet.coverage_total)
            lines.append(
                "  # the floor: measured by `opsctl init --measure`, rounded down; raise it"
            )
            lines.append(f"  total: {floor}")
    lines.extend(
        [
            "security:",
            "  # bandit: medium and above fail (low is mostly asserts in tests)",
            "  bandit: {severity: medium, confidence: medium}",
            f"  dependencies: {'true' if inspection.lock else 'false'}",
            "  advisory_db: ${OPSCTL_ADVISORY_DB:-}",
            "  max_advisory_age_days: ${OPSCTL_MAX_ADVISORY_AGE_DAYS:-30}",
            "  accepted: []",
        ]
    )
    if inspection.migrations:
        lines.append("migrations:")
        lines.append(f"  drift: {'true' if inspection.metadata else 'false'}")
        if ratchet.lint_rules:
            count = len(inspection.revisions)
            lines.append(
                f"  # {count} revision(s) existed when `opsctl init` ran: released history is"
            )
            lines.append(
                "  # not yours to change, so what the safety lint finds in it is reported, not"
            )
            lines.append(
                "  # blocking. Once they are behind you, remove rules from `warn` to block."
            )
            lines.append(f"  lint: {{ignore: [], warn: {_flow(ratchet.lint_rules)}}}")
        else:
            lines.append("  lint: {ignore: [], warn: []}")
    if ratchet.scenario:
        lines.extend(
            [
                "load:",
                f"  scenario: {ratchet.scenario}"
                + ("  # drafted from the routes; edit it" if ratchet.scenario_drafted else ""),
                f"  rate: ${{OPSCTL_LOAD_RATE:-{LOAD_RATE}}}",
                "  warmup: 5s",
                "  # each of the scenario's operations gets ~2 x min_samples in the window",
                "  duration: ${OPSCTL_LOAD_DURATION:-"
                f"{load_duration_s(len(ratchet.scenario_operations))}s}}",
                f"  min_samples: {LOAD_MIN_SAMPLES}",
                "  slas:",
                "    # the role description's standard: P95 < 200 ms simple, < 500 ms complex",
            ]
        )
        lines.extend(
            f"    - {{match: {{{kind}: {_q(name)}}}, p95_ms: {ms}, max_error_rate: 0.01}}"
            for kind, name, ms in ratchet.slas
        )
    return "\n".join(lines) + "\n"


GITHUB_WORKFLOW = """\
# Written by `opsctl init`: runs the Definition of Done on every push and pull request.
name: opsctl verify
on: [push, pull_request]
jobs:
  verify:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}  # diff coverage needs the base branch
      - uses: actions/setup-python@v5
        with: {python-version: "3.11"}
      - run: pip install opsctl INSTALL
      - run: opsctl verify --junit opsctl-junit.xml --sarif opsctl.sarif
"""

GITLAB_CI = """\
# Written by `opsctl init`: runs the Definition of Done on every pipeline.
opsctl-verify:
  image: python:3.11
  script:
    - pip install opsctl INSTALL
    - opsctl verify --junit opsctl-junit.xml
  artifacts:
    when: always
    reports:
      junit: opsctl-junit.xml
"""


def ci_workflow(kind: str, inspection: Inspection) -> tuple[str, str]:
    """The CI file for ``kind`` (github or gitlab): its path and text."""
    install = "&& pip install -r " + inspection.lock if inspection.lock else ""
    if inspection.lock and not inspection.lock.startswith("requirements"):
        install = ""  # uv/poetry locks: install the project itself
    install = install or "&& pip install -e ."
    if kind == "github":
        return ".github/workflows/opsctl.yml", GITHUB_WORKFLOW.replace(" INSTALL", " " + install)
    return ".gitlab-ci.yml", GITLAB_CI.replace(" INSTALL", " " + install)
