"""A raw ASGI app served by one uvicorn process on loopback, for the load generator benchmarks."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opsctl.serving.service import free_port


@contextmanager
def served(app_source: str, scenario_source: str) -> Iterator[tuple[str, Path]]:
    """Yield the app's base URL and the scenario written to a file; stop the server after."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bench_app.py").write_text(app_source, encoding="utf-8")
        scenario = Path(folder) / "bench_scenario.py"
        scenario.write_text(scenario_source, encoding="utf-8")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench_app:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log", "--app-dir", folder]
        )  # fmt: skip
        try:
            time.sleep(2)
            yield f"http://127.0.0.1:{port}", scenario
        finally:
            server.terminate()
            server.wait(timeout=10)
