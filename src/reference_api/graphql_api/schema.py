"""The executable schema: the SDL files of ``reference_api/schemas`` bound to the resolvers."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema
from graphql import GraphQLSchema

from reference_api.resolvers import bindables

SCHEMA_DIRECTORY = Path(__file__).resolve().parents[1] / "schemas"


def type_defs() -> str:
    """The whole SDL, as written in the repository."""
    return load_schema_from_path(str(SCHEMA_DIRECTORY))


@cache
def build_schema() -> GraphQLSchema:
    """The schema; camelCase fields and arguments map to snake_case attributes and kwargs."""
    return make_executable_schema(type_defs(), *bindables, convert_names_case=True)
