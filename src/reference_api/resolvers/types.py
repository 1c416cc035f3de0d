"""Resolvers of the object types' relations; plain fields resolve from record attributes."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType

from reference_api.domain.errors import NotFoundError
from reference_api.domain.pagination import Connection, Edge, PageInfo, page_request
from reference_api.domain.records import (
    CommentRecord,
    MembershipRecord,
    ProjectRecord,
    TaskRecord,
    UserRecord,
    WorkspaceRecord,
)
from reference_api.models import Role, TaskStatus
from reference_api.resolvers._info import Info, context_of
from reference_api.services import access, comments, projects, tasks, workspaces

workspace_type = ObjectType("Workspace")
membership_type = ObjectType("Membership")
project_type = ObjectType("Project")
task_type = ObjectType("Task")
comment_type = ObjectType("Comment")


@workspace_type.field("viewerRole")
async def resolve_viewer_role(workspace: WorkspaceRecord, info: Info) -> Role:
    return await access.require_member(context_of(info), workspace.id, what="workspace")


@workspace_type.field("members")
def resolve_members(
    workspace: WorkspaceRecord, info: Info, first: int, after: str | None = None
) -> Connection[MembershipRecord]:
    return workspaces.members(context_of(info), workspace, page_request(first, after))


@workspace_type.field("projects")
def resolve_projects(
    workspace: WorkspaceRecord, info: Info, first: int, after: str | None = None
) -> Connection[ProjectRecord]:
    return workspaces.projects(context_of(info), workspace, page_request(first, after))


@membership_type.field("user")
async def resolve_membership_user(membership: MembershipRecord, info: Info) -> UserRecord:
    user = await context_of(info).loaders.users.load(membership.user_id)
    if user is None:  # pragma: no cover - the FK deletes memberships with their user
        raise NotFoundError("user not found")
    return user


@membership_type.field("workspace")
async def resolve_membership_workspace(membership: MembershipRecord, info: Info) -> WorkspaceRecord:
    return await workspaces.get_workspace(context_of(info), membership.workspace_id)


@project_type.field("workspace")
async def resolve_project_workspace(project: ProjectRecord, info: Info) -> WorkspaceRecord:
    return await projects.workspace_of(context_of(info), project)


@project_type.field("tasks")
def resolve_project_tasks(
    project: ProjectRecord,
    info: Info,
    first: int,
    after: str | None = None,
    status: TaskStatus | None = None,
) -> Connection[TaskRecord]:
    return projects.tasks(context_of(info), project, page_request(first, after), status)


@task_type.field("project")
async def resolve_task_project(task: TaskRecord, info: Info) -> ProjectRecord:
    return await tasks.project_of(context_of(info), task)


@task_type.field("assignee")
async def resolve_task_assignee(task: TaskRecord, info: Info) -> UserRecord | None:
    return await tasks.assignee_of(context_of(info), task)


@task_type.field("comments")
def resolve_task_comments(
    task: TaskRecord, info: Info, first: int, after: str | None = None
) -> Connection[CommentRecord]:
    return tasks.comments_of(context_of(info), task, page_request(first, after))


@comment_type.field("author")
async def resolve_comment_author(comment: CommentRecord, info: Info) -> UserRecord:
    return await comments.author_of(context_of(info), comment)


@comment_type.field("task")
async def resolve_comment_task(comment: CommentRecord, info: Info) -> TaskRecord:
    return await comments.task_of(context_of(info), comment)


async def resolve_edges(connection: Connection[Any], _: Info) -> list[Edge[Any]]:
    return await connection.edges()


async def resolve_page_info(connection: Connection[Any], _: Info) -> PageInfo:
    return await connection.page_info()


async def resolve_total_count(connection: Connection[Any], _: Info) -> int:
    """``totalCount`` is counted only when asked for (a separate, batched query)."""
    return await connection.total_count()


CONNECTION_TYPE_NAMES = (
    "WorkspaceConnection",
    "MembershipConnection",
    "ProjectConnection",
    "TaskConnection",
    "CommentConnection",
)


def _connection_type(name: str) -> ObjectType:
    bindable = ObjectType(name)
    bindable.set_field("edges", resolve_edges)
    bindable.set_field("pageInfo", resolve_page_info)
    bindable.set_field("totalCount", resolve_total_count)
    return bindable


object_types = [
    workspace_type,
    membership_type,
    project_type,
    task_type,
    comment_type,
    *(_connection_type(name) for name in CONNECTION_TYPE_NAMES),
]
