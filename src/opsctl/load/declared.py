"""The operations a scenario declares, read from its source (nothing is imported or run).

An operation is declared where the scenario names it literally: ``self.graphql("Name", ...)``
(the GraphQL helper), any call with ``name="..."`` (Locust's request name, e.g.
``self.client.get(f"/items/{id}", name="GET /items/{id}")``), or a request sent on the
client with a literal path and no name (``self.client.get("/healthz")``), which the engine
names ``GET /healthz`` (:func:`opsctl.load.engine_names.operation_name`). Its tags are those
of the ``@tag(...)`` decorators of the task it is in. The verdict reconciles these with what
ran, so that a task whose precondition silently failed cannot vanish from a passing run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from opsctl.load.engine_names import operation_name

#: Methods of Locust's HTTP clients (``self.client.get(...)``) and the verb each sends.
HTTP_METHODS = {
    verb.lower(): verb for verb in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
}


def declared_operations(scenario: Path) -> dict[str, frozenset[str]]:
    """Operation name -> the tags of the tasks that send it."""
    try:
        tree = ast.parse(scenario.read_text(encoding="utf-8"), filename=str(scenario))
    except (OSError, SyntaxError, ValueError):
        return {}  # the engine reports an unreadable scenario itself
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        tags = _tags(node)
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                for name in _names(call):
                    found.setdefault(name, set()).update(tags)
    return {name: frozenset(tags) for name, tags in found.items()}


def _tags(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    tags: set[str] = set()
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _called(decorator) == "tag":
            tags.update(
                arg.value
                for arg in decorator.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return tags


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _names(call: ast.Call) -> list[str]:
    explicit = [
        value
        for keyword in call.keywords
        if keyword.arg == "name" and (value := _literal(keyword.value)) is not None
    ]
    first = call.args[0] if call.args else None
    if _called(call) == "graphql" and (operation := _literal(first)) is not None:
        return [*explicit, operation]
    method = _client_method(call)
    names: list[str] = []
    for name in explicit:
        if not name.startswith("/"):
            names.append(name)
        elif method is not None:  # the engine prefixes the method; unknown method: not declared
            names.append(operation_name(method, name))
    named = any(keyword.arg == "name" for keyword in call.keywords)
    if not named and method is not None:  # Locust names it by its path
        path = _literal(_client_path(call))
        if path is not None and path.startswith("/"):
            names.append(operation_name(method, path))
    return names


def _client_method(call: ast.Call) -> str | None:
    """The HTTP verb of ``<...>.client.get(...)`` or ``<...>.client.request("GET", ...)``."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value
    on_client = (isinstance(owner, ast.Attribute) and owner.attr == "client") or (
        isinstance(owner, ast.Name) and owner.id == "client"
    )
    if not on_client:
        return None
    if func.attr == "request":
        verb = _literal(call.args[0] if call.args else _keyword(call, "method"))
        return verb.upper() if verb else None
    return HTTP_METHODS.get(func.attr)


def _client_path(call: ast.Call) -> ast.expr | None:
    index = 1 if _called(call) == "request" else 0
    if len(call.args) > index:
        return call.args[index]
    return _keyword(call, "url") or _keyword(call, "path")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)
