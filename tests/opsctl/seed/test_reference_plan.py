"""The reference API's plan: its shape on a migrated database, and personas that can log in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from tests.opsctl.seed.helpers import REPOSITORY, migrate

from opsctl.database.throwaway import throwaway_database
from opsctl.seed.engine import Mode, SeedOptions, SeedResult
from opsctl.seed.plan import Scale
from opsctl.seed.runner import seed_database
from reference_api.seed import DEFAULT_PASSWORD, PERSONA_WORKSPACES, PERSONAS, plan

ALEMBIC_INI = REPOSITORY / "alembic.ini"
ANCHOR = date(2026, 3, 1)
TABLES = ("users", "workspaces", "memberships", "projects", "tasks", "comments", "refresh_tokens")


@pytest.fixture(scope="module")
def seeded(postgres_server_url: str) -> Iterator[tuple[str, SeedResult]]:
    """One reference API database, migrated to head and seeded ``small``."""
    with throwaway_database(postgres_server_url) as url:
        migrate(ALEMBIC_INI, url)
        result = seed_database(
            url, plan, SeedOptions(scale=Scale.SMALL, anchor=ANCHOR), alembic_ini=Path(ALEMBIC_INI)
        )
        assert isinstance(result, SeedResult)
        yield url, result


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as connection:
        row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def test_every_table_gets_its_small_rows(seeded: tuple[str, SeedResult]) -> None:
    url, result = seeded
    expected = plan.row_counts(Scale.SMALL)
    assert {load.name: load.rows for load in result.tables} == expected
    assert set(expected) == set(TABLES)
    for table in TABLES:
        assert scalar(url, f"SELECT count(*) FROM {table}") == expected[table]
    assert 100 <= sum(expected.values()) < 1000  # "hundreds"
    assert sum(plan.row_counts(Scale.LARGE).values()) >= 1_000_000


def test_personas_hold_every_role_in_each_persona_workspace(seeded: tuple[str, SeedResult]) -> None:
    url, _ = seeded
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT w.name, u.email, m.role FROM memberships m "
            "JOIN users u ON u.id = m.user_id JOIN workspaces w ON w.id = m.workspace_id "
            "WHERE u.email LIKE '%%@example.test' AND u.email NOT LIKE '%%.%%.%%@%%'"
        ).fetchall()
    found = {(str(w), str(e)): str(r) for w, e, r in rows}
    for index, workspace in enumerate(PERSONA_WORKSPACES):
        roles = {found[(workspace, p.email)] for p in PERSONAS}
        assert roles == {"OWNER", "ADMIN", "MEMBER", "VIEWER"}
        assert all(found[(workspace, p.email)] == p.roles[index] for p in PERSONAS)


def test_the_data_looks_real(seeded: tuple[str, SeedResult]) -> None:
    url, _ = seeded
    statuses = scalar(url, "SELECT array_agg(DISTINCT status ORDER BY status) FROM tasks")
    priorities = scalar(url, "SELECT array_agg(DISTINCT priority ORDER BY priority) FROM tasks")
    assert statuses == ["DONE", "IN_PROGRESS", "TODO"]
    assert priorities == ["HIGH", "LOW", "MEDIUM", "URGENT"]
    sizes = scalar(
        url,
        "SELECT array_agg(n ORDER BY n DESC) FROM "
        "(SELECT count(*) AS n FROM memberships GROUP BY workspace_id) s",
    )
    assert isinstance(sizes, list)
    assert sizes[0] >= 3 * sizes[len(sizes) // 2]  # a few large workspaces, many small
    assert scalar(url, "SELECT count(*) FROM users WHERE name ~ '[^[:ascii:]]'") > 0  # type: ignore[operator]
    due = scalar(
        url,
        "SELECT array[min(due_date) - DATE '2026-03-01', max(due_date) - DATE '2026-03-01', "
        "count(*) FILTER (WHERE due_date IS NULL)] FROM tasks",
    )
    assert isinstance(due, list)
    assert -30 <= due[0] < 0 < due[1] <= 60 and due[2] > 0
    commented = scalar(url, "SELECT count(DISTINCT task_id) FROM comments")
    assert 0 < commented < plan.row_counts(Scale.SMALL)["tasks"]  # type: ignore[operator]


def test_assignees_and_authors_belong_to_the_task_workspace(seeded: tuple[str, SeedResult]) -> None:
    url, _ = seeded
    outsiders = scalar(
        url,
        "SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id "
        "WHERE t.assignee_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM memberships m "
        "WHERE m.workspace_id = p.workspace_id AND m.user_id = t.assignee_id)",
    )
    strangers = scalar(
        url,
        "SELECT count(*) FROM comments c JOIN tasks t ON t.id = c.task_id "
        "JOIN projects p ON p.id = t.project_id WHERE NOT EXISTS (SELECT 1 FROM memberships m "
        "WHERE m.workspace_id = p.workspace_id AND m.user_id = c.author_id)",
    )
    assert (outsiders, strangers) == (0, 0)
    assert scalar(url, "SELECT count(*) FROM tasks WHERE assignee_id IS NOT NULL") > 0  # type: ignore[operator]


LOG_IN = """
mutation LogIn($input: LogInInput!) { logIn(input: $input) { accessToken user { email } } }
"""
WORKSPACES = "{ workspaces(first: 10) { totalCount edges { node { name viewerRole } } } }"


async def test_every_persona_logs_in_through_the_api(seeded: tuple[str, SeedResult]) -> None:
    import httpx

    from reference_api.app import create_app
    from reference_api.config import Settings

    url, _ = seeded
    app = create_app(Settings.from_environ({"DATABASE_URL": url, "APP_ENV": "test"}))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        for persona in PERSONAS:
            variables = {"input": {"email": persona.email, "password": DEFAULT_PASSWORD}}
            response = await client.post("/graphql", json={"query": LOG_IN, "variables": variables})
            body = response.json()
            assert "errors" not in body, body
            token = body["data"]["logIn"]["accessToken"]
            listed = await client.post(
                "/graphql",
                json={"query": WORKSPACES},
                headers={"Authorization": f"Bearer {token}"},
            )
            spaces = listed.json()["data"]["workspaces"]
            roles = {edge["node"]["name"]: edge["node"]["viewerRole"] for edge in spaces["edges"]}
            assert roles == dict(zip(PERSONA_WORKSPACES, persona.roles, strict=True))
        wrong = {"input": {"email": PERSONAS[0].email, "password": "not-the-password"}}
        refused = await client.post("/graphql", json={"query": LOG_IN, "variables": wrong})
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_append_with_another_seed_adds_a_second_population(seeded: tuple[str, SeedResult]) -> None:
    url, _ = seeded  # runs last in this module: it adds to the rows the tests above counted
    before = {table: scalar(url, f"SELECT count(*) FROM {table}") for table in TABLES}
    result = seed_database(
        url, plan, SeedOptions(scale=Scale.SMALL, seed=2, mode=Mode.APPEND, anchor=ANCHOR)
    )
    assert isinstance(result, SeedResult)
    expected = plan.row_counts(Scale.SMALL)
    for table in TABLES:
        assert scalar(url, f"SELECT count(*) FROM {table}") == before[table] + expected[table]  # type: ignore[operator]
    assert scalar(url, "SELECT count(*) FROM users WHERE email = 'owner@example.test'") == 1
