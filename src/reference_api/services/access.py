"""Tenant isolation: the one place that decides who may see and change a workspace's data.

A workspace the viewer does not belong to is reported exactly like one that does not exist
(``NotFoundError``), so ids from other tenants reveal nothing. Members whose role is too weak get
``ForbiddenError``: they already know the object exists.
"""

from __future__ import annotations

import uuid

from reference_api.domain.errors import ForbiddenError, NotFoundError
from reference_api.models import Role
from reference_api.services.caller import Caller

#: Roles that may create and change projects, tasks and comments.
WRITER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
#: Roles that may add members.
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


async def viewer_role(ctx: Caller, workspace_id: uuid.UUID) -> Role | None:
    """The viewer's role in the workspace, ``None`` if they are not a member (or signed out)."""
    return await ctx.loaders.viewer_roles.load(workspace_id)


async def require_member(ctx: Caller, workspace_id: uuid.UUID, *, what: str) -> Role:
    """The viewer's role, or ``NotFoundError`` naming ``what`` the client asked for."""
    ctx.require_viewer()
    role = await viewer_role(ctx, workspace_id)
    if role is None:
        raise NotFoundError(f"{what} not found")
    return role


async def require_writer(ctx: Caller, workspace_id: uuid.UUID, *, what: str) -> Role:
    """Like :func:`require_member`, and ``ForbiddenError`` for viewers."""
    role = await require_member(ctx, workspace_id, what=what)
    if role not in WRITER_ROLES:
        raise ForbiddenError(f"your role {role.value} cannot change this workspace")
    return role


async def require_admin(ctx: Caller, workspace_id: uuid.UUID, *, what: str) -> Role:
    """Like :func:`require_member`, and ``ForbiddenError`` unless OWNER or ADMIN."""
    role = await require_member(ctx, workspace_id, what=what)
    if role not in ADMIN_ROLES:
        raise ForbiddenError("only an OWNER or ADMIN can manage members")
    return role
