"""The GraphQL schema the probes walk: from the service's SDL files, or by introspection.

In production introspection should be off, so the Definition of Done names the SDL files
(``api.schema_files``); without them the schema is introspected, and a service that refuses
introspection leaves the schema-walking probes unable to judge (:class:`ProbeIncomplete`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.gates.api.probe import ProbeIncomplete, ProbeTarget

if TYPE_CHECKING:
    from graphql import GraphQLSchema

_CACHE_KEY = "graphql_schema"


def sdl_paths(root: Path, patterns: list[str]) -> list[Path]:
    """The files the globs name (relative to ``root``); a glob that names none is an error."""
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(root.glob(pattern))
        if not matches:
            raise ProbeIncomplete(f"api.schema_files: {pattern!r} names no file")
        found.extend(matches)
    return found


def graphql_schema(target: ProbeTarget) -> GraphQLSchema:
    """The service's schema, built once per run and kept in ``target.extra``."""
    cached = target.extra.get(_CACHE_KEY)
    if cached is not None:
        schema: GraphQLSchema = cached
        return schema
    settings = target.settings
    root = Path(target.extra.get("project_root", "."))
    if settings is not None and settings.schema_files:
        schema = _from_files(sdl_paths(root, settings.schema_files))
    else:
        schema = _introspected(target)
    target.extra[_CACHE_KEY] = schema
    return schema


def _from_files(paths: list[Path]) -> GraphQLSchema:
    from graphql import GraphQLError, build_ast_schema, parse

    text = "\n".join(path.read_text(encoding="utf-8") for path in paths)
    try:
        return build_ast_schema(parse(text))
    except (GraphQLError, TypeError) as error:
        names = ", ".join(path.name for path in paths)
        raise ProbeIncomplete(f"the SDL files ({names}) do not build a schema: {error}") from error


def _introspected(target: ProbeTarget) -> GraphQLSchema:
    from graphql import GraphQLError, build_client_schema, get_introspection_query

    answer = target.graphql(get_introspection_query(descriptions=False))
    document: Any = answer.json()
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or "__schema" not in data:
        raise ProbeIncomplete(
            "the service refuses introspection and api.schema_files names no SDL file: "
            "the probes that walk the schema cannot run (name the SDL files)"
        )
    try:
        return build_client_schema(data)  # type: ignore[arg-type]  # checked just above
    except (GraphQLError, TypeError, KeyError) as error:
        raise ProbeIncomplete(
            f"the introspection answer does not build a schema: {error}; "
            f"answer: {json.dumps(data)[:200]}"
        ) from error
