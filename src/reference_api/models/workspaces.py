"""Tenants and who belongs to them: ``workspaces`` and ``memberships``."""

from __future__ import annotations

import sqlalchemy as sa

from reference_api.models.base import created_at_column, id_column, metadata
from reference_api.models.enums import Role, sql_in_list
from reference_api.models.identity import users

WORKSPACE_NAME_MAX_LENGTH = 200

workspaces = sa.Table(
    "workspaces",
    metadata,
    id_column(),
    sa.Column("name", sa.String(WORKSPACE_NAME_MAX_LENGTH), nullable=False),
    created_at_column(),
    sa.CheckConstraint("char_length(btrim(name)) >= 1", name="name_not_blank"),
    comment="Tenants: everything else belongs to exactly one workspace.",
)

memberships = sa.Table(
    "memberships",
    metadata,
    id_column(),
    sa.Column(
        "workspace_id",
        sa.Uuid(),
        sa.ForeignKey(workspaces.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "user_id",
        sa.Uuid(),
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    created_at_column(),
    # One membership per person and workspace; its index also serves the workspace_id FK.
    sa.UniqueConstraint("workspace_id", "user_id"),
    sa.CheckConstraint(f"role IN ({sql_in_list(Role)})", name="role_valid"),
    comment="Who belongs to which workspace, with which role.",
)

# Workspace.members pages through a workspace's memberships in creation order.
sa.Index(
    "ix_memberships_workspace_id_created_at",
    memberships.c.workspace_id,
    memberships.c.created_at,
    memberships.c.id,
)
# Query.workspaces pages through the caller's memberships in creation order; the index
# also serves the user_id FK and the membership check.
sa.Index(
    "ix_memberships_user_id_created_at",
    memberships.c.user_id,
    memberships.c.created_at,
    memberships.c.id,
)
