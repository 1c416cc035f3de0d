"""The closed vocabularies of the domain, shared by the tables, the services and GraphQL.

The database stores them as short strings guarded by check constraints (not PostgreSQL enum
types): adding a value is then a one-line constraint change instead of ``ALTER TYPE``, which
cannot run inside a transaction on older servers and cannot drop values at all.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a member may do in a workspace, from most to least powerful."""

    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"


class TaskStatus(enum.StrEnum):
    """Where a task is in its life."""

    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"


class TaskPriority(enum.StrEnum):
    """How urgent a task is."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


def sql_in_list(values: type[enum.StrEnum]) -> str:
    """``'A', 'B'`` for a check constraint's ``IN (...)``; the values are our own constants."""
    return ", ".join(f"'{member.value}'" for member in values)
