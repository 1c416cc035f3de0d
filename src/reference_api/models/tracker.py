"""The work itself: ``projects``, ``tasks`` and ``comments``."""

from __future__ import annotations

import sqlalchemy as sa

from reference_api.models.base import created_at_column, id_column, metadata
from reference_api.models.enums import TaskPriority, TaskStatus, sql_in_list
from reference_api.models.identity import users
from reference_api.models.workspaces import workspaces

PROJECT_NAME_MAX_LENGTH = 200
TASK_TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 10_000

projects = sa.Table(
    "projects",
    metadata,
    id_column(),
    sa.Column(
        "workspace_id",
        sa.Uuid(),
        sa.ForeignKey(workspaces.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(PROJECT_NAME_MAX_LENGTH), nullable=False),
    created_at_column(),
    sa.CheckConstraint("char_length(btrim(name)) >= 1", name="name_not_blank"),
    comment="Projects group the tasks of one workspace.",
)
# Workspace.projects pages in creation order; the index also serves the workspace_id FK.
sa.Index(
    "ix_projects_workspace_id_created_at",
    projects.c.workspace_id,
    projects.c.created_at,
    projects.c.id,
)

tasks = sa.Table(
    "tasks",
    metadata,
    id_column(),
    sa.Column(
        "project_id",
        sa.Uuid(),
        sa.ForeignKey(projects.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("title", sa.String(TASK_TITLE_MAX_LENGTH), nullable=False),
    sa.Column("description", sa.Text(), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False, server_default=TaskStatus.TODO.value),
    sa.Column("priority", sa.String(16), nullable=False, server_default=TaskPriority.MEDIUM.value),
    # Removing a person from the system unassigns their tasks instead of deleting them.
    sa.Column(
        "assignee_id",
        sa.Uuid(),
        sa.ForeignKey(users.c.id, ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    sa.Column("due_date", sa.Date(), nullable=True),
    created_at_column(),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("char_length(btrim(title)) >= 1", name="title_not_blank"),
    sa.CheckConstraint(f"char_length(description) <= {TEXT_MAX_LENGTH}", name="description_length"),
    sa.CheckConstraint(f"status IN ({sql_in_list(TaskStatus)})", name="status_valid"),
    sa.CheckConstraint(f"priority IN ({sql_in_list(TaskPriority)})", name="priority_valid"),
    comment="Units of work in a project.",
)
# Project.tasks pages in creation order, optionally filtered by status: one index each.
sa.Index("ix_tasks_project_id_created_at", tasks.c.project_id, tasks.c.created_at, tasks.c.id)
sa.Index(
    "ix_tasks_project_id_status_created_at",
    tasks.c.project_id,
    tasks.c.status,
    tasks.c.created_at,
    tasks.c.id,
)

comments = sa.Table(
    "comments",
    metadata,
    id_column(),
    sa.Column(
        "task_id",
        sa.Uuid(),
        sa.ForeignKey(tasks.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "author_id",
        sa.Uuid(),
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("body", sa.Text(), nullable=False),
    created_at_column(),
    sa.CheckConstraint(
        f"char_length(btrim(body)) >= 1 AND char_length(body) <= {TEXT_MAX_LENGTH}",
        name="body_length",
    ),
    comment="Discussion on a task.",
)
# Task.comments pages in creation order; the index also serves the task_id FK and counts.
sa.Index("ix_comments_task_id_created_at", comments.c.task_id, comments.c.created_at, comments.c.id)
