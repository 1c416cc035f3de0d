"""Serve a local :class:`AdvisoryDatabase` as an OSV API on 127.0.0.1, for ``pip-audit --osv-url``.

Endpoints (the subset of https://google.github.io/osv.dev/api/ that pip-audit and the OSV
clients use): ``POST /v1/query`` (one package and version; pip-audit 2.10 sends one per
dependency), ``POST /v1/querybatch`` (ids and ``modified`` only, as the real API answers) and
``GET /v1/vulns/<id>``. The server binds an OS-chosen port and lives as long as the context.
It remembers which advisories it answered for each package and version (``answers``), so the
gate can check that pip-audit reported every one (it drops records it cannot read, such as an
OSV ``schema_version`` other than 1.x, with only a log line).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from opsctl.gates.security.advisories import AdvisoryDatabase


class _Handler(BaseHTTPRequestHandler):
    server: _OsvServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the gate reports what matters."""

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _matches(self, query: dict[str, Any]) -> list[dict[str, Any]] | None:
        package = query.get("package") or {}
        name, version = package.get("name"), query.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return None
        if package.get("ecosystem", "PyPI") != "PyPI":
            return []
        self.server.queries += 1
        found = self.server.database.query(name, version)
        try:
            key = (canonicalize_name(name), str(Version(version)))
        except InvalidVersion:
            key = (canonicalize_name(name), version)
        with self.server.lock:
            answered = self.server.answers.setdefault(key, {})
            for record in found:
                names = {str(record["id"]), *(str(a) for a in record.get("aliases") or [])}
                answered[str(record["id"])] = frozenset(names)
        return found

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            self._reply(400, {"message": "request body is not a JSON object"})
            return
        try:
            if self.path == "/v1/query":
                found = self._matches(body)
                if found is None:
                    self._reply(400, {"message": "need package.name and version"})
                    return
                self._reply(200, {"vulns": found} if found else {})
            elif self.path == "/v1/querybatch":
                results = []
                for query in body.get("queries") or []:
                    found = self._matches(query) or []
                    results.append(
                        {"vulns": [{"id": r["id"], "modified": r.get("modified")} for r in found]}
                    )
                self._reply(200, {"results": results})
            else:
                self._reply(404, {"message": f"no endpoint {self.path}"})
        except Exception as error:  # an unreadable advisory: answer 500, never hang pip-audit
            self.server.errors.append(str(error))
            self._reply(500, {"message": str(error)})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        if not self.path.startswith(prefix):
            self._reply(404, {"message": f"no endpoint {self.path}"})
            return
        wanted = self.path[len(prefix) :]
        for file in self.server.database.files():
            if file.stem == wanted:
                for record in self.server.database.records_for(file.parent.name):
                    if record.get("id") == wanted:
                        self._reply(200, record)
                        return
        self._reply(404, {"message": f"no advisory {wanted}"})


class _OsvServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, database: AdvisoryDatabase) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.database = database
        self.queries = 0
        self.errors: list[str] = []
        # per (canonical name, version): each advisory answered, id -> its id and aliases;
        # pip-audit's report must name each one (it merges aliases into one finding)
        self.answers: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        self.lock = threading.Lock()


@contextlib.contextmanager
def serve_osv(database: AdvisoryDatabase) -> Iterator[_OsvServer]:
    """Serve ``database``; the server's ``url`` attribute is the ``/v1/query`` URL."""
    server = _OsvServer(database)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def query_url(server: _OsvServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/v1/query"
