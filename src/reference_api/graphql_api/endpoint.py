"""The ``/graphql`` endpoint: Ariadne configured with our limits, context and error format."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ariadne.asgi import GraphQL
from ariadne.explorer import ExplorerGraphiQL, ExplorerHttp405
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    validate,
)
from graphql.utilities import TypeInfo
from starlette.requests import Request

from reference_api.config import Settings
from reference_api.context import RequestContext
from reference_api.graphql_api.errors import ErrorLogger, make_error_formatter
from reference_api.graphql_api.limits import QueryLimits, check_limits, token_limited_parser
from reference_api.graphql_api.schema import build_schema
from reference_api.metrics import Metrics
from reference_api.middleware.request_context import request_info
from reference_api.state import AppState

#: The mutations that hash a password: one operation may select
#: ``MAX_PASSWORD_HASHES_PER_REQUEST`` of them (``RequestContext`` enforces the same budget at
#: execution, should a document slip past this count).
HASHING_FIELDS = frozenset({"signUp", "logIn"})


def create_graphql_app(settings: Settings, metrics: Metrics) -> GraphQL:
    """The Ariadne ASGI app; production turns off introspection, GraphiQL and suggestions."""
    production = settings.is_production
    parse_with_limit = token_limited_parser(settings.max_query_tokens)
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_cost=settings.max_query_cost,
        max_fields=settings.max_query_fields,
        max_field_repeats=settings.max_query_field_repeats,
        max_directives=settings.max_query_directives,
        hashing_fields=HASHING_FIELDS,
        max_hashing_fields=settings.max_password_hashes_per_request,
    )

    async def context_for(request: Request, data: Any) -> RequestContext:
        services: AppState = request.app.state.services
        return RequestContext.create(services, request_info(request.scope))

    def parse_query(context: Any, data: dict[str, Any]) -> DocumentNode:
        document = parse_with_limit(context, data)
        name = data.get("operationName") or _sole_operation_name(document)
        if isinstance(context, RequestContext):
            context.info.operation = metrics.operation_label(
                name if isinstance(name, str) else None
            )
        return document

    def validate_query(
        schema: GraphQLSchema,
        document_ast: DocumentNode,
        rules: Collection[type[ASTValidationRule]] | None = None,
        max_errors: int | None = None,
        type_info: TypeInfo | None = None,
    ) -> list[GraphQLError]:
        # Our limits first, alone: linear in the document and bounded by a work budget,
        # while some of graphql-core's rules (overlapping fields, for one) grow faster than
        # the document; a document over the limits never reaches them.
        errors = check_limits(schema, document_ast, limits)
        if errors:
            return errors
        # graphql-core 3.3 hides every "Did you mean" (fields, arguments, types, enum values).
        return validate(
            schema, document_ast, rules, max_errors=max_errors, hide_suggestions=production
        )

    return GraphQL(
        build_schema(),
        context_value=context_for,
        query_parser=parse_query,
        query_validator=validate_query,
        introspection=not production,
        explorer=ExplorerHttp405() if production else ExplorerGraphiQL(),
        debug=False,
        logger=ErrorLogger(),
        error_formatter=make_error_formatter(metrics, production=production),
    )


def _sole_operation_name(document: DocumentNode) -> str | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None
