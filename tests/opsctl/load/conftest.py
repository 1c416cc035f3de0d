"""The REST fixture service (FastAPI) served by a real uvicorn on loopback, and gate helpers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from tests.opsctl.cli.helpers import free_port
from tests.opsctl.gates.load.conftest import gate_context, write_project

__all__ = ["gate_context", "write_project"]  # the load gate's helpers, for the REST tests

REST_SERVICE = Path(__file__).resolve().parents[2] / "fixtures" / "load" / "rest_service"
TOKEN = "rest-fixture-token"


def rest_app_module() -> ModuleType:
    """``tests/fixtures/load/rest_service/app.py`` imported in this process (for its schema)."""
    spec = importlib.util.spec_from_file_location("rest_fixture_app", REST_SERVICE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rest_service() -> Iterator[str]:
    """Base URL of the REST fixture under uvicorn (one process, 127.0.0.1); stopped after."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app:app",
                "--app-dir",
                str(REST_SERVICE),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "REST_FIXTURE_TOKEN": TOKEN},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"uvicorn did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def load_section(scenario: Path, **overrides: Any) -> dict[str, Any]:
    """A short, low-rate load section (about 5 s per run, loopback only)."""
    section: dict[str, Any] = {
        "scenario": str(scenario),
        "rate": 60,
        "warmup": "1s",
        "duration": "3s",
        "min_samples": 10,
        "workers": 1,
        "drain_timeout": "5s",
        "slas": [{"match": {"tag": "simple"}, "p95_ms": 500, "max_error_rate": 0.01}],
    }
    section.update(overrides)
    return section
