"""Render a step's request from its templates, and find what a step's templates depend on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from opsctl.runbook.model import Step
from opsctl.runbook.templating import ExpressionError, references, render

# Keys rendered later (conditions on `result`) or never (SQL text, commands).
_NOT_RENDERED = {"query", "command", "until", "fail_if"}
_TEXT_MAPPINGS = {"headers", "env"}
_DATA_KEYS = {"json", "variables", "params"}


def render_spec(step: Step, context: dict[str, Any]) -> Any:
    spec = step.spec
    data = spec.model_dump(by_alias=True)
    rendered = _render_data(data, context)
    try:
        return type(spec).model_validate(rendered)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ExpressionError(f"{step.kind}.{where}: rendered value {first['msg']}") from None


def _render_data(value: Any, context: dict[str, Any], path: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {
            key: item if key in _NOT_RENDERED else _render_data(item, context, (*path, key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_render_data(item, context, path) for item in value]
    rendered = render(value, context)
    # header and environment values are text even when the template yields a number
    # (but not inside request data such as a JSON body that has a key named "env")
    in_data = any(part in _DATA_KEYS for part in path)
    if len(path) >= 2 and path[-2] in _TEXT_MAPPINGS and not in_data:
        return str(rendered)
    return rendered


def simulated_inputs(step: Step, simulated_ids: set[str]) -> list[str]:
    """The simulated steps (of a dry run) whose outputs ``step``'s templates or ``when`` read."""
    if not simulated_ids:
        return []
    found: set[str] = set()
    texts = [(t, False) for t in _strings(step.spec.model_dump(by_alias=True))]
    texts += [(step.when, True)] if step.when else []
    for text, expression in texts:
        try:
            refs = list(references(text, expression=expression))
        except ExpressionError:
            continue
        found.update(attr for root, attr in refs if root == "steps" and attr in simulated_ids)
    return sorted(found)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []
