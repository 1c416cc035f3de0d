"""Workspaces (tenants) and their members."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from reference_api.cache.interface import MembershipCacheError
from reference_api.domain.errors import BadUserInputError, ForbiddenError, NotFoundError
from reference_api.domain.pagination import (
    Connection,
    PageRequest,
    SortKey,
    encode_cursor,
)
from reference_api.domain.records import (
    MembershipRecord,
    ProjectRecord,
    WorkspaceRecord,
    as_uuid,
)
from reference_api.models import Role, memberships, users, workspaces
from reference_api.services import access
from reference_api.services.auth import charge_account_lookup
from reference_api.services.caller import Caller
from reference_api.services.inputs import AddMemberInput, CreateWorkspaceInput, parse_input

logger = logging.getLogger(__name__)

NO_ACCOUNT = "no user has this email; they must sign up first"


async def get_workspace(ctx: Caller, workspace_id: Any) -> WorkspaceRecord:
    """A workspace the viewer belongs to."""
    ws_id = as_uuid(workspace_id, field="id")
    await access.require_member(ctx, ws_id, what="workspace")
    workspace = await ctx.loaders.workspaces.load(ws_id)
    if workspace is None:  # pragma: no cover - a membership implies its workspace exists
        raise NotFoundError("workspace not found")
    return workspace


def list_workspaces(ctx: Caller, page: PageRequest) -> Connection[WorkspaceRecord]:
    """The viewer's workspaces, in the order they joined them."""
    viewer = ctx.require_viewer()
    # The cursor is the membership's sort key: the index pages by when the viewer joined.
    cursors: dict[uuid.UUID, str] = {}
    rows: list[WorkspaceRecord] | None = None

    async def fetch() -> list[WorkspaceRecord]:
        nonlocal rows
        if rows is None:
            rows = await _viewer_workspaces(ctx, viewer, page, cursors)
        return rows

    async def count() -> int:
        async with ctx.app.reader.connect() as conn:
            total = await conn.scalar(
                sa.select(sa.func.count()).where(memberships.c.user_id == viewer)
            )
        return int(total or 0)

    return Connection(
        request=page, fetch=fetch, count=count, cursor_of=lambda item: cursors[item.id]
    )


async def _viewer_workspaces(
    ctx: Caller, viewer: uuid.UUID, page: PageRequest, cursors: dict[uuid.UUID, str]
) -> list[WorkspaceRecord]:
    statement = (
        sa.select(
            workspaces,
            memberships.c.created_at.label("joined_at"),
            memberships.c.id.label("membership_id"),
        )
        .join(memberships, memberships.c.workspace_id == workspaces.c.id)
        .where(memberships.c.user_id == viewer)
        .order_by(memberships.c.created_at, memberships.c.id)
        .limit(page.first + 1)
    )
    if page.after is not None:
        statement = statement.where(
            sa.tuple_(memberships.c.created_at, memberships.c.id)
            > sa.tuple_(
                sa.literal(page.after.created_at, sa.DateTime(timezone=True)),
                sa.literal(page.after.id, sa.Uuid()),
            )
        )
    async with ctx.app.reader.connect() as conn:
        rows = (await conn.execute(statement)).mappings().all()
    for row in rows:
        key = SortKey(id=row["membership_id"], created_at=row["joined_at"])
        cursors[row["id"]] = encode_cursor(key)
    return [WorkspaceRecord.from_row(row) for row in rows]


async def create_workspace(ctx: Caller, data: dict[str, Any]) -> WorkspaceRecord:
    """Create a workspace; the viewer becomes its OWNER."""
    viewer = ctx.require_viewer()
    request = parse_input(CreateWorkspaceInput, data)
    async with ctx.app.engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    sa.insert(workspaces).values(name=request.name).returning(workspaces)
                )
            )
            .mappings()
            .one()
        )
        await conn.execute(
            sa.insert(memberships).values(
                workspace_id=row["id"], user_id=viewer, role=Role.OWNER.value
            )
        )
    workspace = WorkspaceRecord.from_row(row)
    await _forget_membership(ctx, workspace.id, viewer)
    ctx.loaders.viewer_roles.prime(workspace.id, Role.OWNER)
    ctx.loaders.workspaces.prime(workspace.id, workspace)
    return workspace


async def add_member(ctx: Caller, data: dict[str, Any]) -> MembershipRecord:
    """Add an existing user to a workspace. Only OWNER/ADMIN; only an OWNER adds OWNERs."""
    request = parse_input(AddMemberInput, data)
    role = await access.require_admin(ctx, request.workspace_id, what="workspace")
    if request.role is Role.OWNER and role is not Role.OWNER:
        raise ForbiddenError("only an OWNER can add another OWNER")
    # Whether an email has an account is public through signUp ("is already registered"),
    # throttled per address. addMember must be no better an oracle: each lookup is charged
    # to that same per-address bucket, and its answer for an unknown email is signUp's
    # information, nothing more (docs: "addMember and account discovery").
    await charge_account_lookup(ctx)
    async with ctx.app.reader.connect() as conn:
        user_id = await conn.scalar(sa.select(users.c.id).where(users.c.email == request.email))
    if user_id is None:
        raise BadUserInputError(NO_ACCOUNT, field="email")
    async with ctx.app.engine.begin() as conn:
        try:
            row = (
                (
                    await conn.execute(
                        sa.insert(memberships)
                        .values(
                            workspace_id=request.workspace_id,
                            user_id=user_id,
                            role=request.role.value,
                        )
                        .returning(memberships)
                    )
                )
                .mappings()
                .one()
            )
        except IntegrityError:
            raise BadUserInputError(
                "is already a member of this workspace", field="email"
            ) from None
    await _forget_membership(ctx, request.workspace_id, user_id)
    return MembershipRecord.from_row(row)


def members(
    ctx: Caller, workspace: WorkspaceRecord, page: PageRequest
) -> Connection[MembershipRecord]:
    """A page of a workspace's memberships (the workspace was authorized on the way in)."""
    return Connection(
        request=page,
        fetch=lambda: ctx.loaders.workspace_members.load((workspace.id, page, None)),
        count=lambda: ctx.loaders.workspace_member_counts.load((workspace.id, None)),
    )


def projects(
    ctx: Caller, workspace: WorkspaceRecord, page: PageRequest
) -> Connection[ProjectRecord]:
    """A page of a workspace's projects."""
    return Connection(
        request=page,
        fetch=lambda: ctx.loaders.workspace_projects.load((workspace.id, page, None)),
        count=lambda: ctx.loaders.workspace_project_counts.load((workspace.id, None)),
    )


async def _forget_membership(ctx: Caller, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Invalidate the cached role; if the cache is down the TTL bounds the staleness."""
    try:
        await ctx.app.membership_cache.invalidate(workspace_id, user_id)
    except MembershipCacheError as error:
        logger.warning("could not invalidate a cached membership: %s", error)
