"""The reference API's load scenario: a realistic mobile mix, run by ``opsctl verify load``.

Every request is named by its GraphQL operationName; tasks are tagged ``simple`` (one object or
one short list) or ``complex`` (nested lists: tasks with assignees and comments), which is how
the Definition of Done's SLAs find them. Users log in as the seeded personas (``SEED_PASSWORD``,
default the documented local password) and mostly read; some write. Arrivals come at the fixed
rate opsctl schedules (open model): Locust's ``wait_time`` is not used there. Under plain
Locust (``locust -f loadtests/reference_api.py``) each user waits 1–3 s between tasks, as an
app's user does, instead of sending back to back.
"""

# ruff: noqa: S311 (random picks a load mix, nothing secret)
from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from gevent.lock import Semaphore
from locust import between, tag, task

from opsctl.load.graphql import GraphQLUser

# Personas that may write in their first workspace (Acme Robotics): OWNER, ADMIN, MEMBER.
PERSONAS = ("owner@example.test", "admin@example.test", "member@example.test")
PASSWORD = os.environ.get("SEED_PASSWORD") or "opsctl-local-password"

LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken expiresIn user { id name } }
}"""
ME = "query Me { me { id email name } }"
WORKSPACES = """
query Workspaces { workspaces(first: 20) { totalCount edges { node { id name viewerRole } } } }"""
PROJECTS = """
query Projects($id: ID!) {
  workspace(id: $id) { id name projects(first: 20) { totalCount edges { node { id name } } } }
}"""
PROJECT_TASKS = """
query ProjectTasks($id: ID!, $status: TaskStatus) {
  project(id: $id) {
    id name
    tasks(first: 20, status: $status) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        id title status priority dueDate
        assignee { id name }
        comments(first: 3) { totalCount edges { node { id body author { id name } } } }
      } }
    }
  }
}"""
TASK = """
query TaskDetail($id: ID!) {
  task(id: $id) { id title description status priority dueDate assignee { id name } }
}"""
TASK_WITH_COMMENTS = """
query TaskComments($id: ID!) {
  task(id: $id) {
    id title project { id name workspace { id name } }
    comments(first: 20) { totalCount edges { node { id body createdAt author { id name } } } }
  }
}"""
CREATE_TASK = """
mutation CreateTask($input: CreateTaskInput!) { createTask(input: $input) { id title status } }"""
UPDATE_TASK = """
mutation UpdateTask($input: UpdateTaskInput!) { updateTask(input: $input) { id status } }"""
ADD_COMMENT = """
mutation AddComment($input: AddCommentInput!) { addComment(input: $input) { id } }"""


def _ids(connection: dict[str, Any] | None) -> list[str]:
    edges = (connection or {}).get("edges") or []
    return [str(edge["node"]["id"]) for edge in edges]


@dataclass
class Session:
    """What one persona's app knows after logging in: its token and the IDs it browses."""

    email: str = ""
    token: str | None = None
    workspace_ids: list[str] = field(default_factory=list)
    project_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)


# Sessions are shared by every user of a persona in this generator process: a new arrival is
# mostly an app that is already signed in, not a fresh login (``log_in_again`` adds logins at a
# controlled share of the traffic instead).
SESSIONS: dict[str, Session] = {}
SESSION_LOCKS: dict[str, Semaphore] = {email: Semaphore() for email in PERSONAS}


class MobileUser(GraphQLUser):
    """One app installation: signed in as a persona, browses and sometimes writes."""

    session: Session
    wait_time = between(1, 3)  # plain Locust only: opsctl's open model sets its own pace

    def on_start(self) -> None:
        email = random.choice(PERSONAS)
        with SESSION_LOCKS[email]:
            session = SESSIONS.get(email)
            if session is None or session.token is None:
                session = SESSIONS[email] = self._discover(email)
        self.session = session
        self.token = session.token

    def _discover(self, email: str) -> Session:
        session = Session(email=email, token=self._log_in(email))
        self.token = session.token
        data = self.graphql("Workspaces", WORKSPACES) or {}
        session.workspace_ids = [
            str(edge["node"]["id"])
            for edge in (data.get("workspaces") or {}).get("edges", [])
            if edge["node"]["viewerRole"] != "VIEWER"
        ][:1]
        if session.workspace_ids:
            found = self.graphql("Projects", PROJECTS, {"id": session.workspace_ids[0]}) or {}
            session.project_ids = _ids((found.get("workspace") or {}).get("projects"))
        if session.project_ids:
            page = self.graphql("ProjectTasks", PROJECT_TASKS, {"id": session.project_ids[0]})
            session.task_ids = _ids(((page or {}).get("project") or {}).get("tasks"))
        return session

    def _log_in(self, email: str) -> str | None:
        self.token = None
        credentials = {"email": email, "password": PASSWORD}
        data = self.graphql("LogIn", LOG_IN, {"input": credentials}) or {}
        token = (data.get("logIn") or {}).get("accessToken")
        return str(token) if token else None

    # -- reads: most of the traffic --------------------------------------------------------

    @tag("simple")
    @task(40)
    def me(self) -> None:
        self.graphql("Me", ME)

    @tag("simple")
    @task(30)
    def workspaces(self) -> None:
        self.graphql("Workspaces", WORKSPACES)

    @tag("simple")
    @task(30)
    def projects(self) -> None:
        if self.session.workspace_ids:
            self.graphql("Projects", PROJECTS, {"id": self.session.workspace_ids[0]})

    @tag("simple")
    @task(30)
    def task_detail(self) -> None:
        if self.session.task_ids:
            self.graphql("TaskDetail", TASK, {"id": random.choice(self.session.task_ids)})

    @tag("complex")
    @task(40)
    def project_tasks(self) -> None:
        if self.session.project_ids:
            status = random.choice([None, "TODO", "IN_PROGRESS", "DONE"])
            variables = {"id": random.choice(self.session.project_ids), "status": status}
            self.graphql("ProjectTasks", PROJECT_TASKS, variables)

    @tag("complex")
    @task(30)
    def task_comments(self) -> None:
        if self.session.task_ids:
            task_id = random.choice(self.session.task_ids)
            self.graphql("TaskComments", TASK_WITH_COMMENTS, {"id": task_id})

    # -- writes ------------------------------------------------------------------------------

    @tag("complex")
    @task(30)
    def create_task(self) -> None:
        if self.session.project_ids:
            title = f"load test {uuid.uuid4().hex[:8]}"
            project_id = random.choice(self.session.project_ids)
            variables = {"input": {"projectId": project_id, "title": title}}
            self.graphql("CreateTask", CREATE_TASK, variables)

    @tag("simple")
    @task(30)
    def update_task(self) -> None:
        if self.session.task_ids:
            status = random.choice(["TODO", "IN_PROGRESS", "DONE"])
            variables = {"input": {"id": random.choice(self.session.task_ids), "status": status}}
            self.graphql("UpdateTask", UPDATE_TASK, variables)

    @tag("simple")
    @task(30)
    def add_comment(self) -> None:
        if self.session.task_ids:
            task_id = random.choice(self.session.task_ids)
            body = {"taskId": task_id, "body": "Looks good from the app."}
            self.graphql("AddComment", ADD_COMMENT, {"input": body})

    # -- sessions: a login per app session ---------------------------------------------------
    # A mobile app logs in when a session starts and uses its tokens in between: 15 of 305
    # weights, about 1 arrival in 20 (a session of ~20 screens). Each login is one argon2id
    # verification (OWASP parameters, ~25 ms of one core), so they are frequent enough here
    # for the Definition of Done to hold LogIn to its own P95.

    @tag("login")
    @task(15)
    def log_in_again(self) -> None:
        self.token = self._log_in(self.session.email) or self.session.token
