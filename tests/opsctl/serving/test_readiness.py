"""When a started service counts as ready: a real HTTP server answering chosen statuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from opsctl.serving.service import _is_ready


@contextmanager
def answering(statuses: dict[str, int]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses.get(self.path, 404))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("statuses", "ready"),
    [
        ({"/readyz": 200}, True),
        ({"/readyz": 503, "/healthz": 200}, False),  # its readiness probe says: not yet
        ({"/healthz": 200}, True),  # no /readyz (404)
        ({"/readyz": 302, "/healthz": 200}, True),  # a login wall in front of /readyz
        ({"/readyz": 401, "/": 200}, True),
        ({"/": 302}, True),  # no health path at all: an answer from / below 500
        ({"/": 500}, False),
    ],
)
def test_ready_once_its_health_path_or_root_answers(statuses: dict[str, int], ready: bool) -> None:
    with answering(statuses) as url:
        assert _is_ready(httpx, url) is ready
