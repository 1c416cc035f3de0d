"""Limits on what one GraphQL document may ask for: tokens, depth, aliases, cost, fields.

The token limit applies while parsing (a huge document is refused before it costs memory);
the others are checked by ``check_limits``, before graphql-core's own rules (see
``graphql_api.endpoint``). Introspection fields (``__schema``, ``__type``) are not counted in
depth or cost: graphql-core's ``MaxIntrospectionDepthRule`` bounds them.

Depth alone does not bound the work: ``workspaces(first: 100) { projects(first: 100) { tasks
(first: 100) ... } }`` is shallow but asks for a million tasks. The cost is the number of
objects a document can return at most: each field counts once per parent object, and a list
field with ``first`` multiplies what is below it (a variable counts as the largest page).

One operation may also select at most ``max_hashing_fields`` password-hashing mutations:
aliases would otherwise buy a dozen argon2 hashes with one request.

Validation runs on the event loop, so it must be cheap whatever the document: each fragment
is measured once per document (memoised; a spread reuses the numbers, so fragments that
spread the next one twice cost a multiplication, not a re-walk), and the walk stops after a
fixed number of steps. Expanded counts (fields, repeats) are computed, never materialised:
2**40 fields are refused as a number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
    parse,
)

from reference_api.domain.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

#: Selections one document may make the walk visit. With memoised fragments the walk is
#: linear in the document, which the token limit bounds; this is the belt to those braces.
WORK_BUDGET = 20_000
HASHING_MESSAGE = "selects {} password-hashing fields (signUp, logIn)"
#: Numbers stop growing here: 2**40 spreads or 100**9 objects are "too many" all the same.
_CAP = 10**15


def token_limited_parser(max_tokens: int) -> Callable[[Any, dict[str, Any]], DocumentNode]:
    """An Ariadne ``query_parser`` that refuses documents of more than ``max_tokens`` tokens."""

    def parse_query(_context: Any, data: dict[str, Any]) -> DocumentNode:
        return parse(data["query"], max_tokens=max_tokens)

    return parse_query


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The configured limits (``MAX_QUERY_*`` settings)."""

    max_depth: int
    max_aliases: int
    max_cost: int
    max_fields: int
    max_field_repeats: int
    max_directives: int
    #: Mutation fields that hash a password (``signUp``, ``logIn``) and how many one
    #: operation may select: an argon2 hash is the most expensive thing a client can buy.
    hashing_fields: frozenset[str] = frozenset()
    max_hashing_fields: int = 1
    work_budget: int = WORK_BUDGET


@dataclass(slots=True)
class _Measure:
    """What a selection set asks for, for one parent object."""

    depth: int = 0
    cost: int = 0  # objects returned per parent object
    fields: int = 0  # fields selected, fragments expanded
    repeats: int = 0  # the most times one response key appears in one selection set
    hashing: int = 0  # password-hashing mutation fields selected
    keys: Counter[str] = field(default_factory=Counter)  # response keys at this level


class _OverBudgetError(Exception):
    """The document needs more validation work than one request may take."""


class _Walker:
    """Measures selection sets; one per document, fragments memoised by name.

    Each node is visited once per document (a fragment's numbers are reused at every
    spread), so aliases and directives are counted here too, as written.
    """

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits) -> None:
        self.schema = schema
        self.budget = limits.work_budget
        self.hashing_fields = limits.hashing_fields
        self.mutation = schema.mutation_type
        self.steps = 0
        self.aliases = 0
        self.directives = 0
        self.definitions: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                self.definitions.setdefault(definition.name.value, definition)
        self.fragments: dict[str, _Measure] = {}
        self.visiting: set[str] = set()

    def measure(self, selection_set: SelectionSetNode | None, parent: Any) -> _Measure:
        result = _Measure()
        if selection_set is None:
            return result
        for selection in selection_set.selections:
            self.steps += 1
            if self.steps > self.budget:
                raise _OverBudgetError
            self.directives += len(selection.directives or ())
            if isinstance(selection, FieldNode):
                self._add_field(result, selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                _merge(result, self.measure(selection.selection_set, target))
            elif isinstance(selection, FragmentSpreadNode):
                _merge(result, self._fragment(selection.name.value))
        result.repeats = max(result.repeats, max(result.keys.values(), default=0))
        return result

    def _add_field(self, result: _Measure, node: FieldNode, parent: Any) -> None:
        name = node.name.value
        if node.alias is not None:
            self.aliases += 1
        result.keys[node.alias.value if node.alias else name] += 1
        result.fields = _capped(result.fields + 1)
        if parent is self.mutation and name in self.hashing_fields:
            result.hashing = _capped(result.hashing + 1)
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        below = self.measure(
            node.selection_set, get_named_type(definition.type) if definition else None
        )
        result.fields = _capped(result.fields + below.fields)
        result.repeats = max(result.repeats, below.repeats)
        if name.startswith("__"):
            return  # introspection: bounded by graphql-core's own rule
        result.depth = max(result.depth, 1 + below.depth)
        if definition is None or node.selection_set is None:
            return  # unknown fields are reported by graphql-core; leaves cost nothing
        page = _page_size(node) if "first" in definition.args else 1
        result.cost = _capped(result.cost + 1 + page * below.cost)

    def _fragment(self, name: str) -> _Measure:
        known = self.fragments.get(name)
        if known is not None:
            return known
        fragment = self.definitions.get(name)
        # Unknown and cyclic fragments are reported by graphql-core's own rules; here they
        # only must not crash or loop.
        if fragment is None or name in self.visiting:
            return _Measure()
        self.visiting.add(name)
        try:
            self.directives += len(fragment.directives or ())
            target = self.schema.get_type(fragment.type_condition.name.value)
            measured = self.measure(fragment.selection_set, target)
        finally:
            self.visiting.discard(name)
        self.fragments[name] = measured
        return measured


def _merge(into: _Measure, part: _Measure) -> None:
    """Add a fragment's selections to the selection set that spreads it."""
    into.depth = max(into.depth, part.depth)
    into.cost = _capped(into.cost + part.cost)
    into.fields = _capped(into.fields + part.fields)
    into.repeats = max(into.repeats, part.repeats)
    into.hashing = _capped(into.hashing + part.hashing)
    for key, count in part.keys.items():
        into.keys[key] = _capped(into.keys[key] + count)


def _capped(value: int) -> int:
    return min(value, _CAP)


def _page_size(node: FieldNode) -> int:
    """What ``first`` asks for: its literal value, the largest page for a variable."""
    for argument in node.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, IntValueNode):
                return min(max(int(argument.value.value), 0), MAX_PAGE_SIZE)
            return MAX_PAGE_SIZE
    return DEFAULT_PAGE_SIZE


def check_limits(
    schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits
) -> list[GraphQLError]:
    """The limits ``document`` exceeds, as GraphQL errors (empty: within every limit).

    A plain function, not a visitor: it runs before graphql-core's rules, walks each node
    once and stops at the work budget (``graphql_api.endpoint``).
    """
    walker = _Walker(schema, document, limits)
    errors: list[GraphQLError] = []
    try:
        for operation in document.definitions:
            if isinstance(operation, OperationDefinitionNode):
                walker.directives += len(operation.directives or ())
                measured = walker.measure(
                    operation.selection_set, schema.get_root_type(operation.operation)
                )
                errors.extend(_exceeded(operation, measured, limits))
    except _OverBudgetError:
        return [GraphQLError("The document is too complex to validate.", document)]
    for value, limit, what in (
        (walker.aliases, limits.max_aliases, "aliases"),
        (walker.directives, limits.max_directives, "directives"),
    ):
        if value > limit:
            message = f"The document uses {value} {what}; the limit is {limit}."
            errors.append(GraphQLError(message, document))
    return errors


def _exceeded(
    operation: OperationDefinitionNode, measured: _Measure, limits: QueryLimits
) -> list[GraphQLError]:
    name = operation.name.value if operation.name else "anonymous"
    errors = []
    for value, limit, message in (
        (measured.depth, limits.max_depth, "is nested {} levels deep"),
        (measured.cost, limits.max_cost, "may return {} objects"),
        (measured.fields, limits.max_fields, "selects {} fields"),
        (measured.repeats, limits.max_field_repeats, "repeats one field {} times"),
        (measured.hashing, limits.max_hashing_fields, HASHING_MESSAGE),
    ):
        if value > limit:
            text = message.format(value if value < _CAP else "too many")
            errors.append(
                GraphQLError(f"Operation '{name}' {text}; the limit is {limit}.", operation)
            )
    return errors


def query_limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """``check_limits`` as a graphql-core validation rule, for composing with other rules."""

    class QueryLimitsRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            for error in check_limits(self.context.schema, node, limits):
                self.report_error(error)

    return QueryLimitsRule
