"""The sandboxed expression language of runbooks (Jinja2's sandbox, strict about undefined names).

Templates (``"{{ params.email }}"``) render strings; a string that is exactly one ``{{ expr }}``
keeps the expression's type (an int stays an int). Conditions (``when``, ``assert``, ``until``)
and ``outputs`` are bare expressions. The sandbox refuses attribute access to internals, so a
runbook file cannot execute code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from opsctl.runbook.prometheus import histogram_quantile

_SINGLE = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}).)*)\}\}$", re.DOTALL)


class ExpressionError(Exception):
    """A template or condition could not be parsed or evaluated; the message says why."""


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["histogram_quantile"] = histogram_quantile
    return env


_ENV = _environment()


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


@functools.lru_cache(maxsize=512)
def _compiled_expression(expr: str) -> Any:
    return _ENV.compile_expression(expr, undefined_to_none=False)


@functools.lru_cache(maxsize=512)
def _compiled_template(text: str) -> Any:
    return _ENV.from_string(text)


def evaluate(expr: str, context: Mapping[str, Any]) -> Any:
    """The value of expression ``expr`` over ``context``."""
    try:
        value = _compiled_expression(expr)(**context)
    except TemplateError as error:
        raise ExpressionError(f"{expr!r}: {error.message or error}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as error:
        raise ExpressionError(f"{expr!r}: {error}") from None
    if isinstance(value, StrictUndefined):  # a bare undefined name is returned, not raised
        raise ExpressionError(f"{expr.strip()!r} is undefined")
    return value


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every template string in it rendered (dicts and lists recursively)."""
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if not isinstance(value, str) or not is_template(value):
        return value
    single = _SINGLE.match(value.strip())
    if single is not None:
        return evaluate(single.group("expr"), context)
    try:
        return _compiled_template(value).render(**context)
    except TemplateError as error:
        raise ExpressionError(f"{value!r}: {error.message or error}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as error:
        raise ExpressionError(f"{value!r}: {error}") from None


def render_text(value: str, context: Mapping[str, Any]) -> str:
    rendered = render(value, context)
    return rendered if isinstance(rendered, str) else str(rendered)


def references(text: str, *, expression: bool) -> Iterator[tuple[str, str | None]]:
    """The ``(root, first attribute)`` pairs that ``text`` reads, e.g. ``("steps", "count")``.

    Raises :class:`ExpressionError` on a syntax error, so validation reports it with its line.
    """
    source = "{{ " + text + " }}" if expression else text
    try:
        tree = _ENV.parse(source)
    except TemplateError as error:
        raise ExpressionError(f"syntax error: {error.message or error}") from None
    assigned = {target.name for target in tree.find_all(nodes.Name) if target.ctx == "store"}
    claimed: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node, nodes.Getattr | nodes.Getitem):  # narrows the type for mypy
            continue
        inner = node.node
        if isinstance(inner, nodes.Name) and inner.ctx == "load" and inner.name not in assigned:
            claimed.add(id(inner))
            if isinstance(node, nodes.Getattr):
                yield inner.name, node.attr
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                yield inner.name, node.arg.value
            else:
                yield inner.name, None
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in assigned and id(name) not in claimed:
            yield name.name, None
