"""Fixtures for runbook tests: tiny HTTP servers (one per environment) on free loopback ports,
a throwaway database with an ``items`` table, and a copy of the fixture project to run in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.database.throwaway import throwaway_database

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runbook"
REPO = Path(__file__).resolve().parents[3]
TOKEN = "tok-Zq8v-secret-4711"


@dataclass
class FixtureServer:
    url: str
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def count(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]


def _handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            server.calls.append(("GET", parts.path, query))
            if parts.path == "/healthz":
                self._send(200, {"status": "ok"})
            elif parts.path == "/counter":
                self._send(200, {"n": server.count("counter")})
            elif parts.path == "/flaky":
                calls = server.count("flaky:" + query["key"])
                self._send(503 if calls <= int(query["fail"]) else 200, {"calls": calls})
            elif parts.path.startswith("/items/"):
                self._send(200, {"id": parts.path.rsplit("/", 1)[1]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"null")
            server.calls.append(("POST", self.path, body))
            if self.path == "/graphql":
                if "boom" in body["query"]:
                    self._send(200, {"data": None, "errors": [{"message": "boom"}]})
                    return
                auth = self.headers.get("authorization")
                echo = {"name": body["variables"].get("name"), "auth": auth}
                self._send(200, {"data": {"echo": echo}})
            else:
                self._send(201, {"ok": True})

        do_DELETE = do_POST  # noqa: N815

    return Handler


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, FixtureServer]]:
    """One server per environment: local, staging, production (each on its own free port)."""
    running: dict[str, FixtureServer] = {}
    httpds = []
    for env in ("local", "staging", "production"):
        holder = FixtureServer(url="")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
        holder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        running[env] = holder
        httpds.append(httpd)
    yield running
    for httpd in httpds:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def _items_database(postgres_server_url: str) -> Iterator[str]:
    # one throwaway database for the session (creating and dropping one per test costs ~1 s)
    with throwaway_database(postgres_server_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
        yield url


@pytest.fixture
def items_db(_items_database: str) -> str:
    """The session's database with an empty ``items`` table."""
    with psycopg.connect(_items_database, autocommit=True) as conn:
        conn.execute("TRUNCATE items RESTART IDENTITY")
    return _items_database


def item_names(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM items ORDER BY id").fetchall()]


@dataclass
class Project:
    root: Path
    servers: dict[str, FixtureServer]
    database_url: str

    @property
    def config(self) -> Path:
        return self.root / "opsctl.yaml"

    def invoke(self, *args: str, input: str | None = None) -> Any:
        runner = CliRunner()
        env = {"RB_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "200"}
        return runner.invoke(app, ["--config", str(self.config), *args], input=input, env=env)

    def spawn(self, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
        env = {**os.environ, "RB_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "200"}
        return subprocess.Popen(
            [sys.executable, "-m", "opsctl", "--config", str(self.config), *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.root,
        )

    def write_runbook(self, name: str, steps: str, header: str = "") -> None:
        """A runbook file named ``name`` with the given YAML steps (indented by 2)."""
        text = f"name: {name}\nsummary: test\nowners: [team-ops]\n{header}steps:\n{steps}"
        (self.root / "runbooks" / f"{name}.yaml").write_text(text)

    def records(self) -> list[Path]:
        """Run records, the most recently written last."""
        paths = (self.root / ".opsctl" / "runs").glob("*.jsonl")
        return sorted(paths, key=lambda path: path.stat().st_mtime_ns)

    def events(self, path: Path | None = None) -> list[dict[str, Any]]:
        target = path or self.records()[-1]
        return [json.loads(line) for line in target.read_text().splitlines() if line.strip()]


@pytest.fixture
def project(tmp_path: Path, servers: dict[str, FixtureServer], items_db: str) -> Project:
    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "project", root)
    lines = ["service:", "  name: fixture-service", "environments:"]
    for env, server in servers.items():
        lines += [f"  {env}:", f"    url: {server.url}", f"    database_url: {items_db}"]
        if env == "production":
            lines.append("    protected: true")
    (root / "opsctl.yaml").write_text("\n".join(lines) + "\n")
    return Project(root, servers, items_db)
