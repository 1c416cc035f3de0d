"""Initial schema: users, workspaces, memberships, projects, tasks, comments, refresh tokens.

Written out in full (not ``metadata.create_all()``) so that this revision stays what it was
when later revisions change the models. Every name is spelled as the naming convention in
``reference_api.models.base`` produces it.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID_DEFAULT = sa.text("gen_random_uuid()")


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Uuid(), server_default=UUID_DEFAULT, nullable=False)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.CheckConstraint(
            "email = lower(email) AND char_length(email) >= 3", name=op.f("ck_users_email_valid")
        ),
        sa.CheckConstraint("char_length(btrim(name)) >= 1", name=op.f("ck_users_name_not_blank")),
        comment="People who can sign in. Emails are unique and stored lower-cased.",
    )
    op.create_table(
        "workspaces",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.CheckConstraint(
            "char_length(btrim(name)) >= 1", name=op.f("ck_workspaces_name_not_blank")
        ),
        comment="Tenants: everything else belongs to exactly one workspace.",
    )
    op.create_table(
        "memberships",
        _id(),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("workspace_id", "user_id", name=op.f("uq_memberships_workspace_id")),
        sa.CheckConstraint(
            "role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')",
            name=op.f("ck_memberships_role_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_memberships_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        comment="Who belongs to which workspace, with which role.",
    )
    op.create_index(
        op.f("ix_memberships_workspace_id_created_at"),
        "memberships",
        ["workspace_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_memberships_user_id_created_at"), "memberships", ["user_id", "created_at", "id"]
    )
    op.create_table(
        "projects",
        _id(),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.CheckConstraint(
            "char_length(btrim(name)) >= 1", name=op.f("ck_projects_name_not_blank")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_projects_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        comment="Projects group the tasks of one workspace.",
    )
    op.create_index(
        op.f("ix_projects_workspace_id_created_at"),
        "projects",
        ["workspace_id", "created_at", "id"],
    )
    op.create_table(
        "tasks",
        _id(),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(16), server_default="TODO", nullable=False),
        sa.Column("priority", sa.String(16), server_default="MEDIUM", nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        _created_at(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.CheckConstraint("char_length(btrim(title)) >= 1", name=op.f("ck_tasks_title_not_blank")),
        sa.CheckConstraint(
            "char_length(description) <= 10000", name=op.f("ck_tasks_description_length")
        ),
        sa.CheckConstraint(
            "status IN ('TODO', 'IN_PROGRESS', 'DONE')", name=op.f("ck_tasks_status_valid")
        ),
        sa.CheckConstraint(
            "priority IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')",
            name=op.f("ck_tasks_priority_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_tasks_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        comment="Units of work in a project.",
    )
    op.create_index(
        op.f("ix_tasks_project_id_created_at"), "tasks", ["project_id", "created_at", "id"]
    )
    op.create_index(
        op.f("ix_tasks_project_id_status_created_at"),
        "tasks",
        ["project_id", "status", "created_at", "id"],
    )
    op.create_index(op.f("ix_tasks_assignee_id"), "tasks", ["assignee_id"])
    op.create_table(
        "comments",
        _id(),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sa.CheckConstraint(
            "char_length(btrim(body)) >= 1 AND char_length(body) <= 10000",
            name=op.f("ck_comments_body_length"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_comments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        comment="Discussion on a task.",
    )
    op.create_index(
        op.f("ix_comments_task_id_created_at"), "comments", ["task_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_comments_author_id"), "comments", ["author_id"])
    op.create_table(
        "refresh_tokens",
        _id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
        sa.CheckConstraint(
            "char_length(token_hash) = 64", name=op.f("ck_refresh_tokens_token_hash_length")
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_refresh_tokens_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        comment="Refresh tokens, stored as SHA-256 hashes, rotated on use, revoked by family.",
    )
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"])
    op.create_index(op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints; reverse order honours the FKs.
    op.drop_table("refresh_tokens")
    op.drop_table("comments")
    op.drop_table("tasks")
    op.drop_table("projects")
    op.drop_table("memberships")
    op.drop_table("workspaces")
    op.drop_table("users")
