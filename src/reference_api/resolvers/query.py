"""Resolvers of ``Query``."""

from __future__ import annotations

from ariadne import QueryType

from reference_api.domain.pagination import Connection, page_request
from reference_api.domain.records import (
    ProjectRecord,
    TaskRecord,
    UserRecord,
    WorkspaceRecord,
)
from reference_api.resolvers._info import Info, context_of
from reference_api.services import auth, projects, tasks, workspaces

query = QueryType()


@query.field("me")
async def resolve_me(_: None, info: Info) -> UserRecord:
    return await auth.get_viewer(context_of(info))


@query.field("workspace")
async def resolve_workspace(_: None, info: Info, id: str) -> WorkspaceRecord:
    return await workspaces.get_workspace(context_of(info), id)


@query.field("workspaces")
def resolve_workspaces(
    _: None, info: Info, first: int | None = None, after: str | None = None
) -> Connection[WorkspaceRecord]:
    return workspaces.list_workspaces(context_of(info), page_request(first, after))


@query.field("project")
async def resolve_project(_: None, info: Info, id: str) -> ProjectRecord:
    return await projects.get_project(context_of(info), id)


@query.field("task")
async def resolve_task(_: None, info: Info, id: str) -> TaskRecord:
    return await tasks.get_task(context_of(info), id)
