"""Documents built from the schema: the probes that need a real field, argument or enum."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
)


def selection_for(field: GraphQLField) -> str:
    """What to select under a field: nothing for a leaf, ``{ __typename }`` otherwise."""
    return "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"


def misspelled_enum_query(schema: GraphQLSchema) -> str | None:
    """A document passing a misspelled enum value (as an argument or one input field deep)."""
    for root in (schema.query_type, schema.mutation_type):
        if root is None:
            continue
        operation = "query" if root is schema.query_type else "mutation"
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                literal = _misspelled_literal(get_named_type(arg.type))
                if literal is not None:
                    return f"{operation} {{ {name}({arg_name}: {literal}){selection_for(field)} }}"
    return None


def _misspelled_literal(named: object) -> str | None:
    if isinstance(named, GraphQLEnumType) and named.values:
        value = str(next(iter(named.values)))
        return value[:-1] if len(value) > 2 else value + "X"
    if isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            inner = get_named_type(input_field.type)
            if isinstance(inner, GraphQLEnumType) and inner.values:
                return f"{{ {field_name}: {_misspelled_literal(inner)} }}"
    return None
