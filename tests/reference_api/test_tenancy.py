"""Tenant isolation and roles: other workspaces' objects do not exist for you; VIEWERs read only."""

from __future__ import annotations

from typing import Any

from tests.reference_api.helpers import Api, Session, error_codes

RANDOM_ID = "00000000-0000-4000-8000-000000000000"


def _without_request_ids(payload: dict[str, Any]) -> dict[str, Any]:
    """The response with request ids removed (they differ on every request)."""
    errors = [
        {**error, "extensions": {k: v for k, v in error["extensions"].items() if k != "requestId"}}
        for error in payload.get("errors", [])
    ]
    return {**payload, "errors": errors}


async def _tenant(api: Api, name: str) -> tuple[Session, str, str, str]:
    owner = await api.sign_up(name)
    workspace_id = await api.create_workspace(owner, f"{name}'s workspace")
    project_id = await api.create_project(owner, workspace_id, f"{name}'s project")
    task_id = await api.create_task(owner, project_id, title=f"{name}'s secret task")
    await api.add_comment(owner, task_id, f"{name}'s secret comment")
    return owner, workspace_id, project_id, task_id


async def test_reads_of_another_tenant_look_like_missing_objects(api: Api) -> None:
    _, a_workspace, a_project, a_task = await _tenant(api, "Alice")
    bob, _, _, _ = await _tenant(api, "Bob")
    queries = {
        "workspace": ("query($id: ID!) { workspace(id: $id) { id name } }", a_workspace),
        "project": ("query($id: ID!) { project(id: $id) { id tasks { totalCount } } }", a_project),
        "task": ("query($id: ID!) { task(id: $id) { id title comments { totalCount } } }", a_task),
    }
    for field, (query, foreign_id) in queries.items():
        foreign = await api.gql(query, {"id": foreign_id}, token=bob.access_token)
        missing = await api.gql(query, {"id": RANDOM_ID}, token=bob.access_token)
        assert error_codes(foreign) == ["NOT_FOUND"], field
        assert foreign["data"] == {field: None}
        # No existence oracle: a foreign id answers exactly like an id that never existed.
        assert _without_request_ids(foreign) == _without_request_ids(missing)
    listed = await api.data("{ workspaces { edges { node { id } } } }", token=bob.access_token)
    assert a_workspace not in [edge["node"]["id"] for edge in listed["workspaces"]["edges"]]


async def test_writes_into_another_tenant_are_not_found_and_change_nothing(api: Api) -> None:
    alice, a_workspace, a_project, a_task = await _tenant(api, "Alice")
    bob, _, _, _ = await _tenant(api, "Bob")
    attempts: list[tuple[str, dict[str, Any]]] = [
        (
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
            {"i": {"workspaceId": a_workspace, "name": "pwned"}},
        ),
        (
            "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
            {"i": {"workspaceId": a_workspace, "email": bob.email, "role": "OWNER"}},
        ),
        (
            "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
            {"i": {"projectId": a_project, "title": "pwned"}},
        ),
        (
            "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id } }",
            {"i": {"id": a_task, "title": "pwned"}},
        ),
        (
            "mutation($i: AddCommentInput!) { addComment(input: $i) { id } }",
            {"i": {"taskId": a_task, "body": "pwned"}},
        ),
        ("mutation($id: ID!) { deleteTask(id: $id) }", {"id": a_task}),
    ]
    for query, variables in attempts:
        payload = await api.gql(query, variables, token=bob.access_token)
        assert error_codes(payload) == ["NOT_FOUND"], query
    after = await api.data(
        """query($ws: ID!, $task: ID!) {
             workspace(id: $ws) { members { totalCount } projects { totalCount } }
             task(id: $task) { title comments { totalCount } project { tasks { totalCount } } }
           }""",
        {"ws": a_workspace, "task": a_task},
        token=alice.access_token,
    )
    assert after["workspace"] == {"members": {"totalCount": 1}, "projects": {"totalCount": 1}}
    assert after["task"] == {
        "title": "Alice's secret task",
        "comments": {"totalCount": 1},
        "project": {"tasks": {"totalCount": 1}},
    }


async def test_nested_fields_never_reach_into_another_tenant(api: Api) -> None:
    alice, a_workspace, _, a_task = await _tenant(api, "Alice")
    bob, b_workspace, _, _ = await _tenant(api, "Bob")
    # Bob's own graph, followed as deep as it goes, only ever shows Bob's objects.
    data = await api.data(
        """{ workspaces(first: 5) { edges { node { id
              members(first: 5) { edges { node { user { id } workspace { id } } } }
              projects(first: 5) { edges { node { workspace { id }
                tasks(first: 5) { edges { node { id project { workspace { id } }
                  comments(first: 5) { edges { node { author { id } task { id } } } }
              } } } } } } } } } }""",
        token=bob.access_token,
    )
    text = str(data)
    assert a_workspace not in text
    assert a_task not in text
    assert alice.user_id not in text
    assert b_workspace in text
    # Aliases do not help either: one foreign id among own ones is still NOT_FOUND.
    payload = await api.gql(
        """query($mine: ID!, $theirs: ID!) {
             mine: workspace(id: $mine) { id }
             theirs: workspace(id: $theirs) { id }
           }""",
        {"mine": b_workspace, "theirs": a_workspace},
        token=bob.access_token,
    )
    assert payload["data"] == {"mine": {"id": b_workspace}, "theirs": None}
    assert error_codes(payload) == ["NOT_FOUND"]


async def test_viewers_read_but_cannot_mutate(api: Api) -> None:
    owner, workspace_id, project_id, task_id = await _tenant(api, "Olivia")
    viewer = await api.sign_up("Vic")
    await api.add_member(owner, workspace_id, viewer, "VIEWER")
    read = await api.data(
        "query($id: ID!) { task(id: $id) { title } }", {"id": task_id}, token=viewer.access_token
    )
    assert read["task"]["title"] == "Olivia's secret task"
    attempts: list[tuple[str, dict[str, Any]]] = [
        (
            "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
            {"i": {"workspaceId": workspace_id, "name": "x"}},
        ),
        (
            "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
            {"i": {"projectId": project_id, "title": "x"}},
        ),
        (
            "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id } }",
            {"i": {"id": task_id, "status": "DONE"}},
        ),
        (
            "mutation($i: AddCommentInput!) { addComment(input: $i) { id } }",
            {"i": {"taskId": task_id, "body": "x"}},
        ),
        ("mutation($id: ID!) { deleteTask(id: $id) }", {"id": task_id}),
        (
            "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
            {"i": {"workspaceId": workspace_id, "email": viewer.email, "role": "ADMIN"}},
        ),
    ]
    for query, variables in attempts:
        payload = await api.gql(query, variables, token=viewer.access_token)
        assert error_codes(payload) == ["FORBIDDEN"], query
    still = await api.data(
        "query($id: ID!) { task(id: $id) { status } }", {"id": task_id}, token=owner.access_token
    )
    assert still["task"]["status"] == "TODO"


async def test_members_can_write(api: Api) -> None:
    owner, workspace_id, project_id, _ = await _tenant(api, "Olivia")
    member = await api.sign_up("Mia")
    await api.add_member(owner, workspace_id, member, "MEMBER")
    task_id = await api.create_task(member, project_id, assigneeId=member.user_id)
    await api.add_comment(member, task_id)
    assert await api.create_project(member, workspace_id, "Mia's")
