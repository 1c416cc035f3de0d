"""Requests/s and latency percentiles of the reference API, against a baseline in the same run.

Starts the API (``python -m reference_api``) on a free loopback port with a throwaway database,
signs up a user with a workspace of 3 members, a project of 50 tasks (each assigned and
commented), then measures, with the same closed-loop client:

* ``healthz``: ``GET /healthz`` (no GraphQL, no database): the baseline;
* ``me``: ``query Me { me { id name } }`` (simple: target P95 < 200 ms);
* ``tasks50``: the project's 50 tasks with assignees and comment counts (complex: < 500 ms).

Each scenario's P95 is also printed as a ratio to the baseline's P95, which a busy machine
disturbs less than absolute numbers. Bounded: loopback only, ``--requests`` per scenario
(at most 5000) and a 10 s timeout per request.

Run: .venv/bin/python benchmarks/reference_api_latency.py [--requests 300] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from opsctl.database.throwaway import throwaway_database

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
MAX_REQUESTS = 5000
TARGETS_MS = {"me": 200.0, "tasks50": 500.0}

ME = "query Me { me { id name } }"
TASKS = """query Tasks($id: ID!) {
  project(id: $id) {
    tasks(first: 50) {
      edges { node { id title status assignee { name } comments { totalCount } } }
    }
  }
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPOSITORY_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


async def wait_until_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode}")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the API did not become ready in 20 s")


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    payload: dict[str, Any] = response.json()
    if "errors" in payload:
        raise SystemExit(f"setup request failed: {payload['errors']}")
    data: dict[str, Any] = payload["data"]
    return data


async def seed(client: httpx.AsyncClient) -> tuple[str, str]:
    """A user, a workspace with 3 members and a project of 50 assigned, commented tasks."""

    async def sign_up(name: str) -> dict[str, Any]:
        data = await gql(
            client,
            "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id email } } }",
            {"i": {"email": f"{name}@bench.test", "password": "benchmark password", "name": name}},
        )
        payload: dict[str, Any] = data["signUp"]
        return payload

    owner = await sign_up("owner")
    token = owner["accessToken"]
    workspace = (
        await gql(
            client, 'mutation { createWorkspace(input: {name: "Bench"}) { id } }', token=token
        )
    )["createWorkspace"]["id"]
    members = [owner]
    for name in ("ann", "bob", "cid"):
        member = await sign_up(name)
        await gql(
            client,
            "mutation($i: AddMemberInput!) { addMember(input: $i) { id } }",
            {"i": {"workspaceId": workspace, "email": member["user"]["email"], "role": "MEMBER"}},
            token=token,
        )
        members.append(member)
    project = (
        await gql(
            client,
            'mutation($w: ID!) { createProject(input: {workspaceId: $w, name: "P"}) { id } }',
            {"w": workspace},
            token=token,
        )
    )["createProject"]["id"]
    for i in range(50):
        task = (
            await gql(
                client,
                "mutation($i: CreateTaskInput!) { createTask(input: $i) { id } }",
                {
                    "i": {
                        "projectId": project,
                        "title": f"Task {i}",
                        "assigneeId": members[i % 4]["user"]["id"],
                    }
                },
                token=token,
            )
        )["createTask"]["id"]
        await gql(
            client,
            "mutation($i: AddCommentInput!) { addComment(input: $i) { id } }",
            {"i": {"taskId": task, "body": f"Comment on {i}"}},
            token=token,
        )
    return token, project


async def measure(
    send: Callable[[], Awaitable[httpx.Response]], requests: int, concurrency: int
) -> dict[str, float]:
    """Closed loop: ``concurrency`` workers send ``requests`` requests in all."""
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            response = await send()
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(f"request failed: {response.status_code} {response.text[:200]}")

    for _ in range(min(20, requests)):  # warm-up: connections, caches, code paths
        await send()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p95_ms": quantiles[94] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


async def run(
    base_url: str, process: subprocess.Popen[bytes], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        await wait_until_ready(client, process)
        token, project = await seed(client)
        auth = {"Authorization": f"Bearer {token}"}
        scenarios: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "healthz": lambda: client.get("/healthz"),
            "me": lambda: client.post("/graphql", json={"query": ME}, headers=auth),
            "tasks50": lambda: client.post(
                "/graphql", json={"query": TASKS, "variables": {"id": project}}, headers=auth
            ),
        }
        return {
            name: await measure(send, args.requests, args.concurrency)
            for name, send in scenarios.items()
        }


def report(results: dict[str, dict[str, float]]) -> bool:
    """Print the table and the targets; whether every target was met."""
    baseline = results["healthz"]["p95_ms"]
    columns = ("requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "p95/baseline")
    print(f"{'scenario':<10}" + "".join(f"{column:>14}" for column in columns))
    for name, figures in results.items():
        values = (
            f"{figures['requests']:.0f}",
            f"{figures['rps']:.1f}",
            f"{figures['p50_ms']:.1f}",
            f"{figures['p95_ms']:.1f}",
            f"{figures['p99_ms']:.1f}",
            f"{figures['p95_ms'] / baseline:.1f}x",
        )
        print(f"{name:<10}" + "".join(f"{value:>14}" for value in values))
    within = True
    for name, target in TARGETS_MS.items():
        p95 = results[name]["p95_ms"]
        verdict = "met" if p95 < target else "MISSED"
        within &= p95 < target
        print(f"{name}: P95 {p95:.1f} ms, target < {target:.0f} ms: {verdict}")
    return within


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--server-url",
        default=os.environ.get("OPSCTL_TEST_POSTGRES_URL", DEFAULT_SERVER),
        help="PostgreSQL server to create the throwaway database on",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not 1 <= args.requests <= MAX_REQUESTS or not 1 <= args.concurrency <= 64:
        parser.error(f"--requests must be 1..{MAX_REQUESTS} and --concurrency 1..64")
    port = free_port()
    with throwaway_database(args.server_url) as database_url:
        migrate(database_url)
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            # The benchmark is one client: the per-IP and per-user limits would stop it.
            "RATE_LIMIT_PER_IP": "1000000",
            "RATE_LIMIT_PER_USER": "1000000",
        }
        environment.pop("REDIS_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "reference_api"],
            cwd=REPOSITORY_ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            results = asyncio.run(run(f"http://127.0.0.1:{port}", process, args))
        finally:
            process.terminate()
            process.wait(timeout=10)
    within = report(results)
    if args.json:
        print(json.dumps(results))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
