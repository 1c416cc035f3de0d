"""The type of a resolver's ``info``: its ``context`` is our ``RequestContext``."""

from __future__ import annotations

from typing import TypeAlias

from graphql import GraphQLResolveInfo

from reference_api.context import RequestContext

Info: TypeAlias = GraphQLResolveInfo[RequestContext]


def context_of(info: Info) -> RequestContext:
    return info.context
