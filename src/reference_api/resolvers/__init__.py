"""GraphQL resolvers: thin adapters from the schema to ``reference_api.services``.

Each resolver unpacks its arguments, calls one service function and returns its result;
authorization, validation and SQL all live in the services.
"""

from __future__ import annotations

from ariadne import EnumType, ObjectType, ScalarType

from reference_api.models import Role, TaskPriority, TaskStatus
from reference_api.resolvers.mutation import mutation
from reference_api.resolvers.query import query
from reference_api.resolvers.scalars import date_scalar, datetime_scalar
from reference_api.resolvers.types import object_types

enums = [
    EnumType("Role", Role),
    EnumType("TaskStatus", TaskStatus),
    EnumType("TaskPriority", TaskPriority),
]

bindables: list[ObjectType | ScalarType | EnumType] = [
    query,
    mutation,
    datetime_scalar,
    date_scalar,
    *enums,
    *object_types,
]

__all__ = ["bindables"]
