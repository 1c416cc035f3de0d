"""Every relation the GraphQL API follows, as a batching DataLoader (one query per level).

A request gets fresh loaders (``RequestContext.create``), so nothing cached here outlives it.
Child lists are loaded with a ``LATERAL`` join: for each parent, an index range scan of at most
``first + 1`` rows, whatever the number of parents.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_api.cache.interface import MembershipCache, MembershipCacheError
from reference_api.dataloader import DataLoader
from reference_api.domain.pagination import PageRequest
from reference_api.domain.records import (
    CommentRecord,
    MembershipRecord,
    ProjectRecord,
    TaskRecord,
    UserRecord,
    WorkspaceRecord,
)
from reference_api.models import Role, comments, memberships, projects, tasks, users, workspaces

logger = logging.getLogger(__name__)

R = TypeVar("R")
#: (parent id, page, filter value or None)
PageKey = tuple[uuid.UUID, PageRequest, str | None]
#: (parent id, filter value or None)
CountKey = tuple[uuid.UUID, str | None]

USER_COLUMNS = (users.c.id, users.c.email, users.c.name, users.c.created_at)


class Loaders:
    """The loaders of one request."""

    def __init__(
        self,
        engine: AsyncEngine,  # the AUTOCOMMIT reader of ``AppState``
        *,
        viewer_id: uuid.UUID | None,
        membership_cache: MembershipCache,
    ) -> None:
        self._engine = engine
        self._viewer_id = viewer_id
        self._membership_cache = membership_cache
        self.users = DataLoader(
            self._by_id(sa.select(*USER_COLUMNS), users.c.id, UserRecord.from_row)
        )
        self.workspaces = DataLoader(
            self._by_id(sa.select(workspaces), workspaces.c.id, WorkspaceRecord.from_row)
        )
        self.projects = DataLoader(
            self._by_id(sa.select(projects), projects.c.id, ProjectRecord.from_row)
        )
        self.tasks = DataLoader(self._by_id(sa.select(tasks), tasks.c.id, TaskRecord.from_row))
        self.viewer_roles: DataLoader[uuid.UUID, Role | None] = DataLoader(self._viewer_roles)
        self.workspace_members = DataLoader(
            self._pages(memberships, memberships.c.workspace_id, MembershipRecord.from_row)
        )
        self.workspace_member_counts = DataLoader(self._counts(memberships.c.workspace_id))
        self.workspace_projects = DataLoader(
            self._pages(
                projects,
                projects.c.workspace_id,
                ProjectRecord.from_row,
                remember=lambda project: self.projects.prime(project.id, project),
            )
        )
        self.workspace_project_counts = DataLoader(self._counts(projects.c.workspace_id))
        self.project_tasks = DataLoader(
            self._pages(
                tasks,
                tasks.c.project_id,
                TaskRecord.from_row,
                filter_column=tasks.c.status,
                remember=lambda task: self.tasks.prime(task.id, task),
            )
        )
        self.project_task_counts = DataLoader(
            self._counts(tasks.c.project_id, filter_column=tasks.c.status)
        )
        self.task_comments = DataLoader(
            self._pages(comments, comments.c.task_id, CommentRecord.from_row)
        )
        self.task_comment_counts = DataLoader(self._counts(comments.c.task_id))

    async def _fetch(self, statement: sa.Executable) -> Sequence[sa.RowMapping]:
        async with self._engine.connect() as connection:
            result = await connection.execute(statement)
            return result.mappings().all()

    def _by_id(
        self,
        select: sa.Select[Any],
        key_column: sa.ColumnElement[uuid.UUID],
        record: Callable[[sa.RowMapping], R],
    ) -> Callable[[Sequence[uuid.UUID]], Awaitable[list[R | None]]]:
        async def load(ids: Sequence[uuid.UUID]) -> list[R | None]:
            rows = await self._fetch(select.where(key_column.in_(ids)))
            found = {row["id"]: record(row) for row in rows}
            return [found.get(item_id) for item_id in ids]

        return load

    async def _viewer_roles(self, workspace_ids: Sequence[uuid.UUID]) -> list[Role | None]:
        """The viewer's role in each workspace (``None``: not a member), cache first."""
        viewer = self._viewer_id
        if viewer is None:
            return [None] * len(workspace_ids)
        try:
            known = await self._membership_cache.get_many(viewer, workspace_ids)
        except MembershipCacheError as error:
            logger.warning("membership cache unavailable: %s", error)
            known = {}
        missing = [ws for ws in workspace_ids if ws not in known]
        if missing:
            rows = await self._fetch(
                sa.select(memberships.c.workspace_id, memberships.c.role).where(
                    memberships.c.user_id == viewer, memberships.c.workspace_id.in_(missing)
                )
            )
            fetched: dict[uuid.UUID, Role | None] = dict.fromkeys(missing)
            fetched.update({row["workspace_id"]: Role(row["role"]) for row in rows})
            known = {**known, **fetched}
            try:
                await self._membership_cache.set_many(viewer, fetched)
            except MembershipCacheError as error:
                logger.warning("membership cache unavailable: %s", error)
        return [known[ws] for ws in workspace_ids]

    def _pages(
        self,
        table: sa.Table,
        parent_column: sa.Column[Any],
        record: Callable[[sa.RowMapping], R],
        *,
        filter_column: sa.Column[Any] | None = None,
        remember: Callable[[R], None] | None = None,
    ) -> Callable[[Sequence[PageKey]], Awaitable[list[list[R]]]]:
        """A batch function loading child pages; ``remember`` primes a by-id loader with each
        child, so that ``comment { task }`` after ``tasks { ... }`` needs no query."""

        async def load(keys: Sequence[PageKey]) -> list[list[R]]:
            # Keys with the same page and filter share one query (the usual case: a list of
            # parents, each asking for its first N children).
            groups: dict[tuple[PageRequest, str | None], list[uuid.UUID]] = defaultdict(list)
            for parent_id, page, value in keys:
                groups[(page, value)].append(parent_id)
            found: dict[PageKey, list[R]] = {}
            for (page, value), parent_ids in groups.items():
                parents = sa.values(sa.column("parent_id", sa.Uuid()), name="parents").data(
                    [(parent_id,) for parent_id in parent_ids]
                )
                children = sa.select(table).where(parent_column == parents.c.parent_id)
                if value is not None and filter_column is not None:
                    children = children.where(filter_column == value)
                if page.after is not None:
                    children = children.where(
                        sa.tuple_(table.c.created_at, table.c.id)
                        > sa.tuple_(
                            sa.literal(page.after.created_at, sa.DateTime(timezone=True)),
                            sa.literal(page.after.id, sa.Uuid()),
                        )
                    )
                child = (
                    children.order_by(table.c.created_at, table.c.id)
                    .limit(page.first + 1)
                    .lateral("child")
                )
                rows = await self._fetch(
                    sa.select(child).select_from(parents).join(child, sa.true())
                )
                by_parent: dict[uuid.UUID, list[R]] = defaultdict(list)
                for row in rows:
                    item = record(row)
                    by_parent[row[parent_column.name]].append(item)
                    if remember is not None:
                        remember(item)
                for parent_id in parent_ids:
                    found[(parent_id, page, value)] = by_parent.get(parent_id, [])
            return [found[key] for key in keys]

        return load

    def _counts(
        self, parent_column: sa.Column[Any], *, filter_column: sa.Column[Any] | None = None
    ) -> Callable[[Sequence[CountKey]], Awaitable[list[int]]]:
        async def load(keys: Sequence[CountKey]) -> list[int]:
            groups: dict[str | None, list[uuid.UUID]] = defaultdict(list)
            for parent_id, value in keys:
                groups[value].append(parent_id)
            found: dict[CountKey, int] = {}
            for value, parent_ids in groups.items():
                statement = (
                    sa.select(parent_column, sa.func.count().label("count"))
                    .where(parent_column.in_(parent_ids))
                    .group_by(parent_column)
                )
                if value is not None and filter_column is not None:
                    statement = statement.where(filter_column == value)
                rows = await self._fetch(statement)
                counts = {row[parent_column.name]: row["count"] for row in rows}
                for parent_id in parent_ids:
                    found[(parent_id, value)] = counts.get(parent_id, 0)
            return [found[key] for key in keys]

        return load
