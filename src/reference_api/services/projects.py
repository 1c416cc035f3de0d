"""Projects of a workspace, and the task lists under them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reference_api.domain.errors import NotFoundError
from reference_api.domain.pagination import Connection, PageRequest
from reference_api.domain.records import ProjectRecord, TaskRecord, WorkspaceRecord, as_uuid
from reference_api.models import TaskStatus, projects
from reference_api.services import access
from reference_api.services.caller import Caller
from reference_api.services.inputs import CreateProjectInput, parse_input


async def get_project(ctx: Caller, project_id: Any) -> ProjectRecord:
    """A project in one of the viewer's workspaces; any other is ``NotFoundError``."""
    ctx.require_viewer()
    project = await ctx.loaders.projects.load(as_uuid(project_id, field="id"))
    if project is None:
        raise NotFoundError("project not found")
    await access.require_member(ctx, project.workspace_id, what="project")
    return project


async def create_project(ctx: Caller, data: dict[str, Any]) -> ProjectRecord:
    """Create a project; VIEWERs may not."""
    request = parse_input(CreateProjectInput, data)
    await access.require_writer(ctx, request.workspace_id, what="workspace")
    async with ctx.app.engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    sa.insert(projects)
                    .values(workspace_id=request.workspace_id, name=request.name)
                    .returning(projects)
                )
            )
            .mappings()
            .one()
        )
    project = ProjectRecord.from_row(row)
    ctx.loaders.projects.prime(project.id, project)
    return project


async def workspace_of(ctx: Caller, project: ProjectRecord) -> WorkspaceRecord:
    """The workspace of a project the viewer can see."""
    workspace = await ctx.loaders.workspaces.load(project.workspace_id)
    if workspace is None:  # pragma: no cover - the FK guarantees it
        raise NotFoundError("workspace not found")
    return workspace


def tasks(
    ctx: Caller,
    project: ProjectRecord,
    page: PageRequest,
    status: TaskStatus | None = None,
) -> Connection[TaskRecord]:
    """A page of a project's tasks, optionally only those in ``status``."""
    value = None if status is None else TaskStatus(status).value
    return Connection(
        request=page,
        fetch=lambda: ctx.loaders.project_tasks.load((project.id, page, value)),
        count=lambda: ctx.loaders.project_task_counts.load((project.id, value)),
    )
