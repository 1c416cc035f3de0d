"""Validated inputs of the mutations (pydantic); errors name the GraphQL field (camelCase)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from reference_api.domain.errors import BadUserInputError
from reference_api.models import Role, TaskPriority, TaskStatus
from reference_api.models.identity import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from reference_api.models.tracker import (
    PROJECT_NAME_MAX_LENGTH,
    TASK_TITLE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
)
from reference_api.models.workspaces import WORKSPACE_NAME_MAX_LENGTH

# Deliberately simple: one "@", a dot in the domain, no spaces. Deliverability is proven by
# sending mail, not by a regular expression.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PASSWORD_MIN_LENGTH = 8
# argon2 hashes any length, but hashing megabytes per attempt is a denial of service.
PASSWORD_MAX_LENGTH = 128

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN
    ),
]
Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
AnyPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]


PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX_LENGTH)
]
WorkspaceName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=WORKSPACE_NAME_MAX_LENGTH),
]
ProjectName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=PROJECT_NAME_MAX_LENGTH),
]
TaskTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TASK_TITLE_MAX_LENGTH)
]
Body = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX_LENGTH)
]
Description = Annotated[str, Field(max_length=TEXT_MAX_LENGTH)]


class Input(BaseModel):
    """Base of every input: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SignUpInput(Input):
    email: Email
    password: Password
    name: PersonName


class LogInInput(Input):
    email: Email
    password: AnyPassword


class CreateWorkspaceInput(Input):
    name: WorkspaceName


class AddMemberInput(Input):
    workspace_id: uuid.UUID
    email: Email
    role: Role


class CreateProjectInput(Input):
    workspace_id: uuid.UUID
    name: ProjectName


class CreateTaskInput(Input):
    project_id: uuid.UUID
    title: TaskTitle
    description: Description = ""
    priority: TaskPriority = TaskPriority.MEDIUM
    assignee_id: uuid.UUID | None = None
    due_date: dt.date | None = None


class UpdateTaskInput(Input):
    """Only the fields the client sent change (``model_fields_set``); ``assigneeId: null``
    unassigns, ``dueDate: null`` clears the due date."""

    id: uuid.UUID
    title: TaskTitle | None = None
    description: Description | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    assignee_id: uuid.UUID | None = None
    due_date: dt.date | None = None


class AddCommentInput(Input):
    task_id: uuid.UUID
    body: Body


InputT = TypeVar("InputT", bound=Input)


def parse_input(model: type[InputT], data: Mapping[str, Any]) -> InputT:
    """Validate ``data`` (snake_case keys); the first problem becomes ``BadUserInputError``."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        field = to_camel(str(first["loc"][0])) if first["loc"] else "input"
        raise BadUserInputError(first["msg"], field=field) from None
