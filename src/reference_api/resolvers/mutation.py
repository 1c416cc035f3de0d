"""Resolvers of ``Mutation``: each hands its ``input`` to one service function."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType

from reference_api.domain.records import (
    CommentRecord,
    MembershipRecord,
    ProjectRecord,
    TaskRecord,
    WorkspaceRecord,
)
from reference_api.resolvers._info import Info, context_of
from reference_api.services import auth, comments, projects, tasks, workspaces
from reference_api.services.auth import AuthPayload

mutation = MutationType()


@mutation.field("signUp")
async def resolve_sign_up(_: None, info: Info, input: dict[str, Any]) -> AuthPayload:
    return await auth.sign_up(context_of(info), input)


@mutation.field("logIn")
async def resolve_log_in(_: None, info: Info, input: dict[str, Any]) -> AuthPayload:
    return await auth.log_in(context_of(info), input)


@mutation.field("refreshToken")
async def resolve_refresh_token(_: None, info: Info, refresh_token: str) -> AuthPayload:
    return await auth.refresh(context_of(info), refresh_token)


@mutation.field("logOut")
async def resolve_log_out(_: None, info: Info, refresh_token: str) -> bool:
    return await auth.log_out(context_of(info), refresh_token)


@mutation.field("createWorkspace")
async def resolve_create_workspace(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> WorkspaceRecord:
    return await workspaces.create_workspace(context_of(info), input)


@mutation.field("addMember")
async def resolve_add_member(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> MembershipRecord:
    return await workspaces.add_member(context_of(info), input)


@mutation.field("createProject")
async def resolve_create_project(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> ProjectRecord:
    return await projects.create_project(context_of(info), input)


@mutation.field("createTask")
async def resolve_create_task(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> TaskRecord:
    return await tasks.create_task(context_of(info), input)


@mutation.field("updateTask")
async def resolve_update_task(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> TaskRecord:
    return await tasks.update_task(context_of(info), input)


@mutation.field("deleteTask")
async def resolve_delete_task(_: None, info: Info, id: str) -> bool:
    return await tasks.delete_task(context_of(info), id)


@mutation.field("addComment")
async def resolve_add_comment(
    _: None,
    info: Info,
    input: dict[str, Any],
) -> CommentRecord:
    return await comments.add_comment(context_of(info), input)
