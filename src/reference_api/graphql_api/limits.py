"""Limits on what one GraphQL document may ask for: tokens, depth, aliases and cost.

The token limit applies while parsing (a huge document is refused before it costs memory);
depth, aliases and cost are validation rules. Introspection fields (``__schema``, ``__type``)
are not counted in depth or cost: graphql-core's ``MaxIntrospectionDepthRule`` bounds them.

Depth alone does not bound the work: ``workspaces(first: 100) { projects(first: 100) { tasks
(first: 100) ... } }`` is shallow but asks for a million tasks. The cost is the number of
objects a document can return at most: each field counts once per parent object, and a list
field with ``first`` multiplies what is below it (a variable counts as the largest page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    parse,
)

from reference_api.services.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


def token_limited_parser(max_tokens: int) -> Callable[[Any, dict[str, Any]], DocumentNode]:
    """An Ariadne ``query_parser`` that refuses documents of more than ``max_tokens`` tokens."""

    def parse_query(_context: Any, data: dict[str, Any]) -> DocumentNode:
        return parse(data["query"], max_tokens=max_tokens)

    return parse_query


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields."""

    class MaxDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = _depth(node.selection_set, self.context, set())
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' is nested {depth} levels deep;"
                        f" the limit is {max_depth}.",
                        node,
                    )
                )

    return MaxDepthRule


def _depth(
    selection_set: SelectionSetNode | None, context: ValidationContext, visiting: set[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(selection.selection_set, context, visiting))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, context, visiting))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            # Unknown and cyclic fragments are reported by graphql-core's own rules; here
            # they only must not crash or loop.
            if fragment is None or name in visiting:
                continue
            deepest = max(deepest, _depth(fragment.selection_set, context, visiting | {name}))
    return deepest


def max_aliases_rule(max_aliases: int) -> type[ValidationRule]:
    """A rule refusing documents with more than ``max_aliases`` aliased fields (alias batching,
    e.g. a thousand ``logIn`` attempts in one request)."""

    class MaxAliasesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if node.alias is not None:
                self.aliases += 1

        def leave_document(self, node: DocumentNode, *_args: Any) -> None:
            if self.aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"The document uses {self.aliases} aliases; the limit is {max_aliases}.",
                        node,
                    )
                )

    return MaxAliasesRule


def max_cost_rule(max_cost: int) -> type[ValidationRule]:
    """A rule refusing operations that could return more than ``max_cost`` objects."""

    class MaxCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            cost = _cost(node.selection_set, root, 1, self.context, set())
            if cost > max_cost:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' may return {cost} objects; the limit is {max_cost}."
                        " Ask for smaller pages.",
                        node,
                    )
                )

    return MaxCostRule


def _page_size(field: FieldNode) -> int:
    """What ``first`` asks for: its literal value, the largest page for a variable."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return min(max(int(argument.value.value), 0), MAX_PAGE_SIZE)
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


def _cost(
    selection_set: SelectionSetNode | None,
    parent: Any,
    multiplier: int,
    context: ValidationContext,
    visiting: set[str],
) -> int:
    if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            definition = parent.fields.get(selection.name.value)
            if definition is None or selection.selection_set is None:
                continue  # unknown fields are reported by graphql-core; leaves cost nothing
            has_page = "first" in definition.args
            below = multiplier * _page_size(selection) if has_page else multiplier
            total += multiplier + _cost(
                selection.selection_set, get_named_type(definition.type), below, context, visiting
            )
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            target = context.schema.get_type(condition.name.value) if condition else parent
            total += _cost(selection.selection_set, target, multiplier, context, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in visiting:
                continue
            target = context.schema.get_type(fragment.type_condition.name.value)
            total += _cost(fragment.selection_set, target, multiplier, context, visiting | {name})
    return total
