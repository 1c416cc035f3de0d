"""What services return: immutable rows of the domain, without secrets.

GraphQL reads their attributes directly (``createdAt`` resolves ``created_at``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import RowMapping

from reference_api.domain.errors import BadUserInputError
from reference_api.models import Role, TaskPriority, TaskStatus


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person, as other people may see them (no password hash)."""

    id: uuid.UUID
    email: str
    name: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(id=row["id"], email=row["email"], name=row["name"], created_at=row["created_at"])


@dataclass(frozen=True, slots=True)
class WorkspaceRecord:
    """A tenant."""

    id: uuid.UUID
    name: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(id=row["id"], name=row["name"], created_at=row["created_at"])


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A person's role in a workspace."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            user_id=row["user_id"],
            role=Role(row["role"]),
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """A project of a workspace."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            name=row["name"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task of a project."""

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    priority: TaskPriority
    assignee_id: uuid.UUID | None
    due_date: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(
            id=row["id"],
            project_id=row["project_id"],
            title=row["title"],
            description=row["description"],
            status=TaskStatus(row["status"]),
            priority=TaskPriority(row["priority"]),
            assignee_id=row["assignee_id"],
            due_date=row["due_date"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class CommentRecord:
    """A comment on a task."""

    id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> Self:
        return cls(
            id=row["id"],
            task_id=row["task_id"],
            author_id=row["author_id"],
            body=row["body"],
            created_at=row["created_at"],
        )


def as_uuid(value: Any, *, field: str) -> uuid.UUID:
    """A client-supplied ID as a UUID; a malformed one is ``BadUserInputError`` on ``field``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadUserInputError("is not a valid ID", field=field) from None
