"""Projects, tasks and comments: every query and mutation, through HTTP."""

from __future__ import annotations

from tests.reference_api.helpers import Api, Session, error_codes

TASK = """query($id: ID!) {
  task(id: $id) {
    id title description status priority dueDate createdAt updatedAt
    project { id name workspace { id } }
    assignee { id name }
    comments { totalCount edges { node { body author { id } task { id } } } }
  }
}"""
UPDATE = """mutation($input: UpdateTaskInput!) {
  updateTask(input: $input) { id title description status priority dueDate assignee { id } }
}"""


async def _workspace_with_project(api: Api) -> tuple[Session, str, str]:
    owner = await api.sign_up("Olivia")
    workspace_id = await api.create_workspace(owner)
    return owner, workspace_id, await api.create_project(owner, workspace_id)


async def test_create_and_read_a_task_with_everything(api: Api) -> None:
    owner, workspace_id, project_id = await _workspace_with_project(api)
    task_id = await api.create_task(
        owner,
        project_id,
        title="Ship it",
        description="All of it",
        priority="HIGH",
        assigneeId=owner.user_id,
        dueDate="2026-12-24",
    )
    await api.add_comment(owner, task_id, "First!")
    task = (await api.data(TASK, {"id": task_id}, token=owner.access_token))["task"]
    assert task["title"] == "Ship it"
    assert task["description"] == "All of it"
    assert (task["status"], task["priority"]) == ("TODO", "HIGH")
    assert task["dueDate"] == "2026-12-24"
    assert task["project"] == {
        "id": project_id,
        "name": "Apollo",
        "workspace": {"id": workspace_id},
    }
    assert task["assignee"] == {"id": owner.user_id, "name": "Olivia"}
    assert task["comments"]["totalCount"] == 1
    comment = task["comments"]["edges"][0]["node"]
    assert comment == {"body": "First!", "author": {"id": owner.user_id}, "task": {"id": task_id}}


async def test_update_task_changes_only_the_given_fields(api: Api) -> None:
    owner, _, project_id = await _workspace_with_project(api)
    task_id = await api.create_task(
        owner, project_id, title="Old", assigneeId=owner.user_id, dueDate="2026-12-01"
    )
    updated = (
        await api.data(
            UPDATE, {"input": {"id": task_id, "status": "IN_PROGRESS"}}, token=owner.access_token
        )
    )["updateTask"]
    assert updated["title"] == "Old"
    assert updated["status"] == "IN_PROGRESS"
    assert updated["assignee"] == {"id": owner.user_id}
    cleared = (
        await api.data(
            UPDATE,
            {"input": {"id": task_id, "assigneeId": None, "dueDate": None, "title": "New"}},
            token=owner.access_token,
        )
    )["updateTask"]
    assert (cleared["title"], cleared["assignee"], cleared["dueDate"]) == ("New", None, None)
    unchanged = (await api.data(UPDATE, {"input": {"id": task_id}}, token=owner.access_token))[
        "updateTask"
    ]
    assert unchanged["title"] == "New"
    refused = await api.gql(
        UPDATE, {"input": {"id": task_id, "title": None}}, token=owner.access_token
    )
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["field"] == "title"


async def test_assignees_must_be_members(api: Api) -> None:
    owner, _, project_id = await _workspace_with_project(api)
    outsider = await api.sign_up("Out")
    payload = await api.gql(
        "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
        {"input": {"projectId": project_id, "title": "T", "assigneeId": outsider.user_id}},
        token=owner.access_token,
    )
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert payload["errors"][0]["extensions"]["field"] == "assigneeId"
    task_id = await api.create_task(owner, project_id)
    payload = await api.gql(
        UPDATE, {"input": {"id": task_id, "assigneeId": outsider.user_id}}, token=owner.access_token
    )
    assert error_codes(payload) == ["BAD_USER_INPUT"]


async def test_project_tasks_filter_by_status_and_page(api: Api) -> None:
    owner, _, project_id = await _workspace_with_project(api)
    ids = [await api.create_task(owner, project_id, title=f"T{i}") for i in range(5)]
    for task_id in ids[:2]:
        await api.data(
            UPDATE, {"input": {"id": task_id, "status": "DONE"}}, token=owner.access_token
        )
    query = """query($id: ID!, $status: TaskStatus, $after: String) {
      project(id: $id) {
        name workspace { name }
        tasks(status: $status, first: 2, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { node { id status } }
        }
      }
    }"""
    done = await api.data(query, {"id": project_id, "status": "DONE"}, token=owner.access_token)
    tasks = done["project"]["tasks"]
    assert tasks["totalCount"] == 2
    assert [edge["node"]["id"] for edge in tasks["edges"]] == ids[:2]
    assert tasks["pageInfo"]["hasNextPage"] is False
    first = (await api.data(query, {"id": project_id}, token=owner.access_token))["project"][
        "tasks"
    ]
    assert first["totalCount"] == 5
    second = (
        await api.data(
            query,
            {"id": project_id, "after": first["pageInfo"]["endCursor"]},
            token=owner.access_token,
        )
    )["project"]["tasks"]
    assert [edge["node"]["id"] for edge in first["edges"] + second["edges"]] == ids[:4]


async def test_delete_task_removes_it_and_its_comments(api: Api) -> None:
    owner, _, project_id = await _workspace_with_project(api)
    task_id = await api.create_task(owner, project_id)
    await api.add_comment(owner, task_id)
    deleted = await api.data(
        "mutation($id: ID!) { deleteTask(id: $id) }", {"id": task_id}, token=owner.access_token
    )
    assert deleted["deleteTask"] is True
    payload = await api.gql(TASK, {"id": task_id}, token=owner.access_token)
    assert payload["data"]["task"] is None
    assert error_codes(payload) == ["NOT_FOUND"]


async def test_comments_page_and_validate(api: Api) -> None:
    owner, _, project_id = await _workspace_with_project(api)
    task_id = await api.create_task(owner, project_id)
    for i in range(3):
        await api.add_comment(owner, task_id, f"c{i}")
    query = """query($id: ID!) {
      task(id: $id) {
        comments(first: 2) { totalCount pageInfo { hasNextPage } edges { node { body } } }
      }
    }"""
    comments = (await api.data(query, {"id": task_id}, token=owner.access_token))["task"][
        "comments"
    ]
    assert [edge["node"]["body"] for edge in comments["edges"]] == ["c0", "c1"]
    assert comments["pageInfo"]["hasNextPage"] is True
    assert comments["totalCount"] == 3
    payload = await api.gql(
        "mutation($input: AddCommentInput!) { addComment(input: $input) { id } }",
        {"input": {"taskId": task_id, "body": "  "}},
        token=owner.access_token,
    )
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert payload["errors"][0]["extensions"]["field"] == "body"


async def test_malformed_and_unknown_ids(api: Api) -> None:
    owner, _, _ = await _workspace_with_project(api)
    malformed = await api.gql('{ project(id: "42") { id } }', token=owner.access_token)
    assert error_codes(malformed) == ["BAD_USER_INPUT"]
    for field in ("workspace", "project", "task"):
        payload = await api.gql(
            f'{{ {field}(id: "00000000-0000-4000-8000-000000000000") {{ id }} }}',
            token=owner.access_token,
        )
        assert error_codes(payload) == ["NOT_FOUND"]
        assert payload["data"] == {field: None}
