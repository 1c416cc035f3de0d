"""``services.access``, ``services.workspaces`` and friends called directly."""

from __future__ import annotations

import dataclasses

import pytest
from tests.reference_api.helpers import ContextFactory

from reference_api.domain.errors import (
    BadUserInputError,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
)
from reference_api.domain.pagination import page_request
from reference_api.domain.records import UserRecord
from reference_api.models import Role, TaskStatus
from reference_api.services import access, auth, comments, projects, tasks, workspaces
from reference_api.state import AppState


async def _user(context_for: ContextFactory, name: str) -> UserRecord:
    payload = await auth.sign_up(
        context_for(None),
        {"email": f"{name.lower()}@example.test", "password": "long enough", "name": name},
    )
    return payload.user


async def test_roles_decide_what_a_viewer_may_do(context_for: ContextFactory) -> None:
    owner = await _user(context_for, "Olivia")
    viewer = await _user(context_for, "Vic")
    outsider = await _user(context_for, "Otto")
    workspace = await workspaces.create_workspace(context_for(owner.id), {"name": "Acme"})
    await workspaces.add_member(
        context_for(owner.id),
        {"workspace_id": workspace.id, "email": viewer.email, "role": "VIEWER"},
    )
    assert await access.require_admin(context_for(owner.id), workspace.id, what="w") is Role.OWNER
    assert (
        await access.require_member(context_for(viewer.id), workspace.id, what="w") is Role.VIEWER
    )
    with pytest.raises(ForbiddenError):
        await access.require_writer(context_for(viewer.id), workspace.id, what="w")
    with pytest.raises(ForbiddenError):
        await access.require_admin(context_for(viewer.id), workspace.id, what="w")
    with pytest.raises(NotFoundError, match="w not found"):
        await access.require_member(context_for(outsider.id), workspace.id, what="w")
    with pytest.raises(UnauthenticatedError):
        await access.require_member(context_for(None), workspace.id, what="w")
    assert await access.viewer_role(context_for(None), workspace.id) is None


async def test_the_whole_tracker_through_services(context_for: ContextFactory) -> None:
    owner = await _user(context_for, "Olivia")
    ctx = context_for(owner.id)
    workspace = await workspaces.create_workspace(ctx, {"name": "Acme"})
    assert (await workspaces.get_workspace(context_for(owner.id), str(workspace.id))) == workspace
    project = await projects.create_project(ctx, {"workspace_id": workspace.id, "name": "P"})
    assert await projects.workspace_of(ctx, project) == workspace
    task = await tasks.create_task(
        ctx, {"project_id": project.id, "title": "T", "assignee_id": owner.id}
    )
    assert await tasks.assignee_of(ctx, task) == owner
    assert await tasks.project_of(ctx, task) == project
    comment = await comments.add_comment(ctx, {"task_id": task.id, "body": "hi"})
    assert await comments.author_of(ctx, comment) == owner
    assert (await comments.task_of(ctx, comment)).id == task.id
    fresh = context_for(owner.id)
    page = page_request(10, None)
    listed = projects.tasks(fresh, project, page, TaskStatus.TODO)
    assert [edge.node.id for edge in await listed.edges()] == [task.id]
    assert await listed.total_count() == 1
    info = await listed.page_info()
    assert not info.has_next_page
    assert info.end_cursor == (await listed.edges())[0].cursor
    assert await projects.tasks(fresh, project, page, TaskStatus.DONE).total_count() == 0
    assert await tasks.comments_of(fresh, task, page).total_count() == 1
    assert await workspaces.members(fresh, workspace, page).total_count() == 1
    assert await workspaces.projects(fresh, workspace, page).total_count() == 1
    mine = workspaces.list_workspaces(fresh, page)
    assert [edge.node for edge in await mine.edges()] == [workspace]
    assert await mine.total_count() == 1
    assert (await mine.page_info()).end_cursor == (await mine.edges())[0].cursor
    updated = await tasks.update_task(fresh, {"id": task.id, "assignee_id": None})
    assert updated.assignee_id is None
    assert await tasks.assignee_of(fresh, updated) is None
    assert await tasks.delete_task(fresh, str(task.id)) is True
    with pytest.raises(NotFoundError):  # also in the same request: the loader forgot it
        await tasks.get_task(fresh, task.id)


async def test_only_owners_add_owners_and_members_are_unique(context_for: ContextFactory) -> None:
    owner = await _user(context_for, "Olivia")
    admin = await _user(context_for, "Adam")
    other = await _user(context_for, "Otto")
    workspace = await workspaces.create_workspace(context_for(owner.id), {"name": "Acme"})
    await workspaces.add_member(
        context_for(owner.id), {"workspace_id": workspace.id, "email": admin.email, "role": "ADMIN"}
    )
    with pytest.raises(ForbiddenError):
        await workspaces.add_member(
            context_for(admin.id),
            {"workspace_id": workspace.id, "email": other.email, "role": "OWNER"},
        )
    membership = await workspaces.add_member(
        context_for(owner.id), {"workspace_id": workspace.id, "email": other.email, "role": "OWNER"}
    )
    assert membership.role is Role.OWNER
    with pytest.raises(BadUserInputError) as raised:
        await workspaces.add_member(
            context_for(owner.id),
            {"workspace_id": workspace.id, "email": other.email, "role": "MEMBER"},
        )
    assert raised.value.field == "email"


async def test_membership_cache_failures_do_not_fail_requests(
    context_for: ContextFactory, state: AppState
) -> None:
    import redis.asyncio as aioredis

    from reference_api.cache.redis import RedisMembershipCache
    from reference_api.context import RequestContext
    from reference_api.middleware.request_context import RequestInfo

    owner = await _user(context_for, "Olivia")
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    broken = dataclasses.replace(
        state, membership_cache=RedisMembershipCache(client, prefix="x:", ttl_seconds=1)
    )
    ctx = RequestContext.create(broken, RequestInfo("t", "127.0.0.1", viewer_id=owner.id))
    workspace = await workspaces.create_workspace(ctx, {"name": "Acme"})
    again = RequestContext.create(broken, RequestInfo("t", "127.0.0.1", viewer_id=owner.id))
    assert (await workspaces.get_workspace(again, workspace.id)).name == "Acme"
    await client.aclose()
