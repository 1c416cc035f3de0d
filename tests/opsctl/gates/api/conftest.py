"""The api gate's fixture services, served by uvicorn on loopback for one test module."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsctl.gates.api.probe import ProbeTarget

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "api"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(name: str) -> Iterator[ProbeTarget]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--app-dir",
        str(FIXTURES / name), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"fixture service {name} did not start")
        yield ProbeTarget(base_url=url)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def vulnerable() -> Iterator[ProbeTarget]:
    yield from _serve("vulnerable")


@pytest.fixture(scope="module")
def hardened() -> Iterator[ProbeTarget]:
    yield from _serve("hardened")
