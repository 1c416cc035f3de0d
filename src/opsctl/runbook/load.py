"""Find runbook files, load them and check everything that can be checked before a run.

Shape and types come from :mod:`.model` through ``opsctl.config.loader`` (file, line, key and
"did you mean"). On top, :func:`check_runbook` finds what a schema cannot: templates that
reference unknown steps, parameters or secrets; secrets where they could leak; mutating steps
without a timeout; retries of mutating steps not declared idempotent; templated SQL or
commands. Every problem names the file and the line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opsctl.config.loader import KeyPath, _to_config_error, parse_yaml
from opsctl.config.models import LoadedProject
from opsctl.errors import ConfigError, UsageError
from opsctl.runbook.model import PROBE_TYPES, SAFE_METHODS, STEP_TYPES, Runbook
from opsctl.runbook.params import ParamError, coerce
from opsctl.runbook.templating import ExpressionError, is_template, references

RUNBOOKS_DIR = "runbooks"
ROOTS = ("params", "env", "steps", "run", "secrets")
RESULT_KEYS = ("outputs", "assert", "until", "fail_if")
SECRET_ENV_KEYS = ("database_url", "redis_url")
# Where a secret may go: request headers, a command's environment, SQL bind parameters.
_SECRET_SAFE = {("http", "headers"), ("graphql", "headers"), ("shell", "env"), ("sql", "params")}
_UNTEMPLATED = {
    ("sql", "query"): "SQL text is never templated: pass values in sql.params",
    ("shell", "command"): "a command is never templated: pass values in shell.env",
}


@dataclass(frozen=True)
class LoadedRunbook:
    """A valid runbook with its source text (hashed for resume) and key lines."""

    runbook: Runbook
    path: Path
    display: str
    text: str
    lines: dict[KeyPath, int] = field(repr=False)

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)

    def line_of(self, *path: str | int) -> int | None:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def runbook_files(project: LoadedProject) -> list[Path]:
    folder = project.root / RUNBOOKS_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def find_runbook(project: LoadedProject, name: str) -> Path:
    path = project.root / RUNBOOKS_DIR / f"{name}.yaml"
    if path.is_file():
        return path
    known = ", ".join(p.stem for p in runbook_files(project)) or "none"
    raise UsageError(f"no runbook named {name!r} in {RUNBOOKS_DIR}/ (known: {known})")


def load_runbook(
    path: Path, *, display: str | None = None, environments: Collection[str] | None = None
) -> LoadedRunbook:
    """Load and fully check one runbook; the first problem is raised as a ConfigError."""
    problems, loaded = _load(path, display, environments)
    if problems or loaded is None:
        raise problems[0]
    return loaded


def check_file(
    path: Path, *, display: str | None = None, environments: Collection[str] | None = None
) -> list[ConfigError]:
    """Every problem of one runbook file (empty when it is valid)."""
    return _load(path, display, environments)[0]


def _load(
    path: Path, display: str | None, environments: Collection[str] | None
) -> tuple[list[ConfigError], LoadedRunbook | None]:
    file = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [ConfigError(f"cannot read: {error}", file=file)], None
    try:
        raw, lines = parse_yaml(text, file=file)
        if not isinstance(raw, dict):
            raise ConfigError("expected a mapping of keys at the top level", file=file, line=1)
        # No ${VAR} expansion (unlike opsctl.yaml): a runbook reads the environment only
        # through `secrets: env:VAR`, and `$` stays literal for shell commands.
        try:
            runbook = Runbook.model_validate(raw)
        except ValidationError as error:
            raise _to_config_error(error, Runbook, raw, file=file, lines=lines) from None
    except ConfigError as error:
        return [error], None
    except (RecursionError, ValueError, TypeError, OverflowError) as error:
        # what a YAML parser may still raise on hostile input (nesting thousands deep): one
        # broken file must not break `list` or `validate` of all the others
        return [ConfigError(f"cannot read: {type(error).__name__}: {error}", file=file)], None
    loaded = LoadedRunbook(runbook=runbook, path=path, display=file, text=text, lines=lines)
    problems = list(check_runbook(loaded, raw, environments))
    return problems, (None if problems else loaded)


def check_runbook(
    loaded: LoadedRunbook, raw: dict[str, Any], environments: Collection[str] | None = None
) -> Iterator[ConfigError]:
    """Problems a schema cannot see; ``environments`` are the names opsctl.yaml defines."""
    runbook, file = loaded.runbook, loaded.display

    def problem(message: str, *path: str | int, hint: str | None = None) -> ConfigError:
        return ConfigError(
            message, file=file, line=loaded.line_of(*path), key=_dotted(path), hint=hint
        )

    if runbook.name != loaded.path.stem:
        yield problem(f"name must match the file name ({loaded.path.stem!r})", "name")
    for index, env_name in enumerate(runbook.environments):
        if environments is not None and env_name not in environments:
            known = ", ".join(sorted(environments)) or "none"
            yield problem(
                f"unknown environment {env_name!r} (opsctl.yaml defines: {known})",
                "environments",
                index,
            )
    for name, param in runbook.params.items():
        if param.default is not None:
            try:
                coerce(param, param.default)
            except ParamError as error:
                yield problem(f"default does not fit: {error}", "params", name, "default")
    seen: set[str] = set()
    for index, step in enumerate(runbook.steps):
        where: tuple[str | int, ...] = ("steps", index)
        if step.id in seen:
            yield problem(f"duplicate step id {step.id!r}", *where, "id")
        if step.mutating is False and step.writes_by_type:
            what = "a GraphQL mutation" if step.http is None else f"HTTP {step.http.method}"
            yield problem(
                f"step {step.id!r} writes ({what}): it cannot be declared read-only",
                *where,
                "mutating",
                hint="remove `mutating: false`; only GET, HEAD, OPTIONS and queries are reads",
            )
        if step.is_mutating and step.timeout is None:
            yield problem(
                f"step {step.id!r} is mutating and has no timeout",
                *where,
                hint="add `timeout: 30s` (the work is stopped when it runs out)",
            )
        if step.is_mutating and step.retry is not None and not step.idempotent:
            yield problem(
                f"step {step.id!r} is mutating: it retries only when declared idempotent",
                *where,
                "retry",
                hint="add `idempotent: true` if running it twice is safe",
            )
        if step.wait is not None:
            probe = step.wait.probe
            if (probe.http is not None and probe.http.method not in SAFE_METHODS) or (
                probe.graphql is not None and probe.graphql.is_mutation
            ):
                yield problem(
                    "a wait probe must be read-only (GET/HEAD/OPTIONS, a query)",
                    *where,
                    "wait",
                    "probe",
                )
        yield from _check_templates(raw["steps"][index], where, seen, runbook, problem)
        seen.add(step.id)


def _check_templates(
    raw_step: dict[str, Any],
    where: tuple[str | int, ...],
    earlier: set[str],
    runbook: Runbook,
    problem: Any,
) -> Iterator[ConfigError]:
    for rel, text in _strings(raw_step):
        path = (*where, *rel)
        untemplated = _untemplated(rel)
        if untemplated is not None:
            if is_template(text):
                yield problem(untemplated, *path)
            continue
        is_result = any(part in RESULT_KEYS for part in rel if isinstance(part, str))
        # an assertion may read its own step's outputs (steps.<own id>.outputs or `outputs`)
        visible = earlier | {raw_step.get("id", "")} if rel[:1] == ("assert",) else earlier
        expression = rel[:1] in (("when",), ("assert",), ("outputs",)) or (
            len(rel) >= 2 and rel[0] == "wait" and rel[1] in ("until", "fail_if")
        )
        if not expression and not is_template(text):
            continue
        try:
            refs = list(references(text, expression=expression))
        except ExpressionError as error:
            yield problem(str(error), *path)
            continue
        for root, attr in refs:
            secret_like = root == "secrets" or (root == "env" and attr in SECRET_ENV_KEYS)
            if (root == "result" and is_result) or (root == "outputs" and rel[:1] == ("assert",)):
                continue
            if root not in ROOTS:
                yield problem(
                    f"unknown name {root!r} (use {', '.join(ROOTS)}"
                    f"{', result' if is_result else ''})",
                    *path,
                )
            elif root == "steps" and attr is not None and attr not in visible:
                later = attr in {s.id for s in runbook.steps}
                yield problem(
                    f"unknown step reference {attr!r}" + (" (it runs later)" if later else ""),
                    *path,
                )
            elif root == "params" and attr is not None and attr not in runbook.params:
                yield problem(f"unknown parameter {attr!r}", *path)
            elif root == "secrets" and attr is not None and attr not in runbook.secrets:
                yield problem(f"unknown secret {attr!r}", *path)
            if secret_like and not _secret_safe(rel):
                yield problem(
                    f"secret used where it could leak ({root}.{attr})",
                    *path,
                    hint="secrets go only in headers, shell.env or sql.params",
                )


Path_ = tuple[str | int, ...]


def _strings(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _type_path(rel: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The path inside the request spec, also for a wait probe (``wait.probe.http.x``)."""
    if len(rel) >= 3 and rel[0] == "wait" and rel[1] == "probe" and rel[2] in PROBE_TYPES:
        return rel[2:]
    return rel if rel[:1] and rel[0] in STEP_TYPES else ()


def _untemplated(rel: tuple[str | int, ...]) -> str | None:
    inner = _type_path(rel)
    return _UNTEMPLATED.get((str(inner[0]), str(inner[1]))) if len(inner) >= 2 else None


def _secret_safe(rel: tuple[str | int, ...]) -> bool:
    inner = _type_path(rel)
    return len(inner) >= 3 and (inner[0], inner[1]) in _SECRET_SAFE


def _dotted(path: tuple[str | int, ...]) -> str | None:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or None
