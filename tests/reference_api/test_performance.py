"""No N+1: the statements a request runs do not grow with the number of items it returns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from tests.reference_api.helpers import Api, Session

from reference_api.config import Settings
from reference_api.database import to_sqlalchemy_url
from reference_api.models import comments, tasks

# Each relation appears at one level of the tree: a loader batches what is asked for in the
# same event-loop turn, and two levels may resolve in one turn or in two depending on timing
# (a constant either way, but it would make the comparison flaky).
TASK_LIST = """query Tasks($id: ID!, $first: Int!) {
  project(id: $id) {
    workspace { name }
    tasks(first: $first) {
      totalCount
      edges { node { title assignee { name } comments(first: 3) { totalCount } } }
    }
  }
}"""
COMMENT_AUTHORS = """query Comments($id: ID!, $first: Int!) {
  project(id: $id) {
    tasks(first: $first) {
      edges { node { project { name } comments(first: 3) { edges { node { body
        author { name } task { title } } } } } }
    }
  }
}"""
MEMBERS = """query Members($id: ID!) {
  project(id: $id) { workspace { members(first: 100) { edges { node { role user { name } } } } } }
}"""


@contextmanager
def counted_statements(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = api.app.state.services.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


async def _project_with_tasks(api: Api, database_url: str, count: int) -> tuple[Session, str]:
    """A project with ``count`` tasks, each assigned and commented (rows inserted directly:
    the API is not under test while setting up)."""
    owner = await api.sign_up("Olivia")
    workspace_id = await api.create_workspace(owner)
    members = [await api.sign_up(f"M{i}") for i in range(3)]
    for member in members:
        await api.add_member(owner, workspace_id, member, "MEMBER")
    project_id = await api.create_project(owner, workspace_id)
    engine = sa.create_engine(to_sqlalchemy_url(database_url), poolclass=sa.NullPool)
    with engine.begin() as connection:
        task_ids = (
            connection.execute(
                sa.insert(tasks).returning(tasks.c.id),
                [
                    {
                        "project_id": project_id,
                        "title": f"T{i}",
                        "assignee_id": members[i % 3].user_id,
                    }
                    for i in range(count)
                ],
            )
            .scalars()
            .all()
        )
        connection.execute(
            sa.insert(comments),
            [
                {"task_id": task_id, "author_id": members[i % 3].user_id, "body": f"c{i}"}
                for i, task_id in enumerate(task_ids)
            ],
        )
    engine.dispose()
    return owner, project_id


@pytest.mark.parametrize("query", [TASK_LIST, COMMENT_AUTHORS])
async def test_statement_count_does_not_grow_with_items(
    api: Api, settings: Settings, query: str
) -> None:
    counts = []
    for first in (5, 50):
        owner, project_id = await _project_with_tasks(api, settings.database_url, first)
        with counted_statements(api) as statements:
            data = await api.data(
                query, {"id": project_id, "first": first}, token=owner.access_token
            )
        edges = data["project"]["tasks"]["edges"]
        assert len(edges) == first
        assert all(len(edge["node"]["comments"]) for edge in edges)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 8, counts


async def test_members_and_their_users_take_constant_statements(
    api: Api, settings: Settings
) -> None:
    counts = []
    for members in (2, 20):
        owner = await api.sign_up("Olivia")
        workspace_id = await api.create_workspace(owner)
        for _ in range(members):
            await api.add_member(owner, workspace_id, await api.sign_up("M"), "VIEWER")
        project_id = await api.create_project(owner, workspace_id)
        with counted_statements(api) as statements:
            data = await api.data(MEMBERS, {"id": project_id}, token=owner.access_token)
        assert len(data["project"]["workspace"]["members"]["edges"]) == members + 1
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
