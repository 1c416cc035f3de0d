"""Tasks: create, read, update, delete; each checked against the viewer's workspace role."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from reference_api.domain.errors import BadUserInputError, NotFoundError
from reference_api.domain.pagination import Connection, PageRequest
from reference_api.domain.records import (
    CommentRecord,
    ProjectRecord,
    TaskRecord,
    UserRecord,
    as_uuid,
)
from reference_api.models import memberships, tasks
from reference_api.services import access
from reference_api.services.caller import Caller
from reference_api.services.inputs import CreateTaskInput, UpdateTaskInput, parse_input
from reference_api.services.projects import get_project

#: Fields that may not be set to null (the others: ``assigneeId``, ``dueDate``, may).
REQUIRED_ON_UPDATE = ("title", "description", "status", "priority")


async def get_task(ctx: Caller, task_id: Any, *, field: str = "id") -> TaskRecord:
    """A task in one of the viewer's workspaces; any other is ``NotFoundError``."""
    ctx.require_viewer()
    task = await ctx.loaders.tasks.load(as_uuid(task_id, field=field))
    if task is None:
        raise NotFoundError("task not found")
    project = await ctx.loaders.projects.load(task.project_id)
    if project is None:  # pragma: no cover - the FK guarantees it
        raise NotFoundError("task not found")
    await access.require_member(ctx, project.workspace_id, what="task")
    return task


async def _writable_task(ctx: Caller, task_id: uuid.UUID) -> tuple[TaskRecord, ProjectRecord]:
    task = await get_task(ctx, task_id)
    project = await ctx.loaders.projects.load(task.project_id)
    if project is None:  # pragma: no cover - the FK guarantees it
        raise NotFoundError("task not found")
    await access.require_writer(ctx, project.workspace_id, what="task")
    return task, project


async def _check_assignee(
    ctx: Caller, project: ProjectRecord, assignee_id: uuid.UUID | None
) -> None:
    """Tasks are assigned only to members of their workspace."""
    if assignee_id is None:
        return
    async with ctx.app.reader.connect() as conn:
        is_member = await conn.scalar(
            sa.select(sa.literal(True)).where(
                memberships.c.workspace_id == project.workspace_id,
                memberships.c.user_id == assignee_id,
            )
        )
    if not is_member:
        raise BadUserInputError("is not a member of this workspace", field="assigneeId")


async def create_task(ctx: Caller, data: dict[str, Any]) -> TaskRecord:
    """Create a task in a project; VIEWERs may not."""
    request = parse_input(CreateTaskInput, data)
    project = await get_project(ctx, request.project_id)
    await access.require_writer(ctx, project.workspace_id, what="project")
    await _check_assignee(ctx, project, request.assignee_id)
    values = request.model_dump(exclude={"project_id"})
    async with ctx.app.engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    sa.insert(tasks).values(project_id=project.id, **values).returning(tasks)
                )
            )
            .mappings()
            .one()
        )
    task = TaskRecord.from_row(row)
    ctx.loaders.tasks.prime(task.id, task)
    return task


async def update_task(ctx: Caller, data: dict[str, Any]) -> TaskRecord:
    """Change the fields the client sent; VIEWERs may not."""
    request = parse_input(UpdateTaskInput, data)
    changes = request.model_dump(include=request.model_fields_set - {"id"})
    for name in REQUIRED_ON_UPDATE:
        if name in changes and changes[name] is None:
            raise BadUserInputError("must not be null", field=name)
    task, project = await _writable_task(ctx, request.id)
    if "assignee_id" in changes:
        await _check_assignee(ctx, project, changes["assignee_id"])
    if not changes:
        return task
    async with ctx.app.engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    sa.update(tasks)
                    .where(tasks.c.id == task.id)
                    .values(**changes, updated_at=sa.func.now())
                    .returning(tasks)
                )
            )
            .mappings()
            .one()
        )
    updated = TaskRecord.from_row(row)
    ctx.loaders.tasks.prime(updated.id, updated)
    return updated


async def delete_task(ctx: Caller, task_id: Any) -> bool:
    """Delete a task and its comments; VIEWERs may not."""
    task, _ = await _writable_task(ctx, as_uuid(task_id, field="id"))
    async with ctx.app.engine.begin() as conn:
        await conn.execute(sa.delete(tasks).where(tasks.c.id == task.id))
    ctx.loaders.tasks.clear(task.id)
    return True


async def project_of(ctx: Caller, task: TaskRecord) -> ProjectRecord:
    project = await ctx.loaders.projects.load(task.project_id)
    if project is None:  # pragma: no cover - the FK guarantees it
        raise NotFoundError("project not found")
    return project


async def assignee_of(ctx: Caller, task: TaskRecord) -> UserRecord | None:
    if task.assignee_id is None:
        return None
    return await ctx.loaders.users.load(task.assignee_id)


def comments_of(ctx: Caller, task: TaskRecord, page: PageRequest) -> Connection[CommentRecord]:
    """A page of a task's comments (the task was authorized on the way in)."""
    return Connection(
        request=page,
        fetch=lambda: ctx.loaders.task_comments.load((task.id, page, None)),
        count=lambda: ctx.loaders.task_comment_counts.load((task.id, None)),
    )
