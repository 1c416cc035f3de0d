"""Comments on tasks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reference_api.domain.errors import NotFoundError
from reference_api.domain.records import CommentRecord, TaskRecord, UserRecord
from reference_api.models import comments
from reference_api.services import access
from reference_api.services.caller import Caller
from reference_api.services.inputs import AddCommentInput, parse_input
from reference_api.services.tasks import get_task, project_of


async def add_comment(ctx: Caller, data: dict[str, Any]) -> CommentRecord:
    """Comment on a task as the viewer; VIEWERs may not."""
    request = parse_input(AddCommentInput, data)
    author = ctx.require_viewer()
    task = await get_task(ctx, request.task_id, field="taskId")
    project = await project_of(ctx, task)
    await access.require_writer(ctx, project.workspace_id, what="task")
    async with ctx.app.engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    sa.insert(comments)
                    .values(task_id=task.id, author_id=author, body=request.body)
                    .returning(comments)
                )
            )
            .mappings()
            .one()
        )
    return CommentRecord.from_row(row)


async def author_of(ctx: Caller, comment: CommentRecord) -> UserRecord:
    author = await ctx.loaders.users.load(comment.author_id)
    if author is None:  # pragma: no cover - the FK deletes comments with their author
        raise NotFoundError("user not found")
    return author


async def task_of(ctx: Caller, comment: CommentRecord) -> TaskRecord:
    task = await ctx.loaders.tasks.load(comment.task_id)
    if task is None:  # pragma: no cover - the FK deletes comments with their task
        raise NotFoundError("task not found")
    return task
