"""``opsctl up`` as a real process: database, migrations, the service; Ctrl-C stops what it
started and leaves nothing running."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.opsctl.cli.helpers import free_port, invoke
from tests.opsctl.database.processes import children_of, processes_mentioning

from opsctl.database.embedded import EmbeddedServer

pytestmark = pytest.mark.slow


class UpProcess:
    """``opsctl up`` running in the background, its stderr read line by line."""

    def __init__(
        self, config: Path, port: int, env: dict[str, str], args: tuple[str, ...] = ()
    ) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opsctl", "-c", str(config), "up", "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "FIXTURE_PORT": str(port), **env},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return
        pytest.fail(f"{text!r} not printed; stderr so far:\n" + "\n".join(self.seen))

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def _port_closed(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_up_against_a_configured_database(service_project: Path, database_url: str) -> None:
    config = service_project / "opsctl.yaml"
    port = free_port()
    up = UpProcess(config, port, {"DATABASE_URL": database_url})
    try:
        up.wait_for("fixture-service is up")
        up.wait_for("Ctrl-C stops everything")
        assert any(f"GraphiQL  http://127.0.0.1:{port}/graphql" in line for line in up.seen)
        assert any("migrations: upgrading to head" in line for line in up.seen)
        # an empty database gets the small scale of the fixture's plan before serving
        assert any(line.startswith("seed: 25 rows (scale small, seed 1)") for line in up.seen)
        assert _items(database_url) == 25

        check = invoke(
            ["-c", str(config), "env", "check", "local"],
            env={"FIXTURE_PORT": str(port), "DATABASE_URL": database_url},
        )
        assert check.exit_code == 0, check.stdout
        assert "local: healthy" in check.stdout
    finally:
        code = up.interrupt()
    assert code == 0, "\n".join(up.seen)
    assert up.seen[-1] == "opsctl up: stopped"
    assert _port_closed(port)
    assert "Traceback" not in "\n".join(up.seen)


def _items(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as connection:
        found = connection.execute("SELECT count(*) FROM items").fetchone()
    assert found is not None
    return int(found[0])


def _up_until_serving(config: Path, database_url: str, *args: str) -> list[str]:
    up = UpProcess(config, free_port(), {"DATABASE_URL": database_url}, args)
    try:
        up.wait_for("fixture-service is up")
    finally:
        assert up.interrupt() == 0, "\n".join(up.seen)
    return up.seen


def test_up_seeds_only_empty_tables_and_no_seed_skips(
    service_project: Path, database_url: str
) -> None:
    config = service_project / "opsctl.yaml"

    seen = _up_until_serving(config, database_url, "--no-seed")
    assert "seed: skipped (--no-seed)" in seen
    assert _items(database_url) == 0

    # a developer's own row: a re-run of up must keep it, not replace it with seed data
    import psycopg

    with psycopg.connect(database_url) as connection:
        connection.execute("INSERT INTO items (name, price) VALUES ('mine', 1)")
    seen = _up_until_serving(config, database_url)
    assert (
        "seed: skipped, the database already holds data (items 1 row); "
        "to start over: opsctl seed --mode replace"
    ) in seen
    assert _items(database_url) == 1


def test_up_with_the_embedded_database_stops_it_on_ctrl_c(service_project: Path) -> None:
    config = service_project / "opsctl.yaml"
    data_dir = service_project / ".opsctl" / "postgres"
    port = free_port()
    up = UpProcess(config, port, {})
    try:
        up.wait_for("fixture-service is up")
        status = EmbeddedServer(data_dir).status()
        assert status.running and status.pid is not None
        postmaster = status.pid
        check = invoke(["-c", str(config), "env", "check"], env={"FIXTURE_PORT": str(port)})
        assert check.exit_code == 0, check.stdout
    finally:
        code = up.interrupt()
    assert code == 0
    assert any(line.startswith("database: embedded PostgreSQL started (") for line in up.seen)
    assert "stopped the embedded PostgreSQL server" in up.seen
    assert not EmbeddedServer(data_dir).status().running
    assert processes_mentioning(str(data_dir)) == []
    assert children_of(postmaster) == []
    assert _port_closed(port)


def test_up_leaves_an_already_running_embedded_server_running(service_project: Path) -> None:
    config = service_project / "opsctl.yaml"
    server = EmbeddedServer(service_project / ".opsctl" / "postgres")
    try:
        assert invoke(["-c", str(config), "db", "start"]).exit_code == 0
        pid = server.status().pid
        up = UpProcess(config, free_port(), {})
        try:
            up.wait_for("fixture-service is up")
        finally:
            assert up.interrupt() == 0
        assert any("database: embedded PostgreSQL already running" in line for line in up.seen)
        assert "stopped the embedded PostgreSQL server" not in up.seen
        assert server.status().pid == pid
    finally:
        server.stop()


def test_up_refuses_a_protected_environment(service_project: Path) -> None:
    result = invoke(["-c", str(service_project / "opsctl.yaml"), "--env", "production", "up"])

    assert result.exit_code == 2
    assert "environment 'production' is protected" in result.stderr


def test_up_on_a_port_in_use_names_the_fix(service_project: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke(["-c", str(service_project / "opsctl.yaml"), "up", "--port", str(port)])

    assert result.exit_code == 3
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


def test_up_with_a_broken_app_names_the_key(service_project: Path, database_url: str) -> None:
    config = service_project / "opsctl.yaml"
    config.write_text(
        config.read_text().replace("fixture_service:create_app", "fixture_service:missing")
    )

    result = invoke(
        ["-c", str(config), "up", "--port", str(free_port())], env={"DATABASE_URL": database_url}
    )

    assert result.exit_code == 2
    assert "service.app: cannot import fixture_service:missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_with_an_unreachable_database_fails_fast(service_project: Path) -> None:
    url = f"postgresql://app:pw-secret@127.0.0.1:{free_port()}/app"

    result = invoke(
        ["-c", str(service_project / "opsctl.yaml"), "up", "--port", str(free_port())],
        env={"DATABASE_URL": url},
    )

    assert result.exit_code == 3
    assert "cannot connect to postgresql://app:***@127.0.0.1:" in result.stderr
    assert "pw-secret" not in result.output


def test_up_stops_cleanly_on_sigterm(service_project: Path, database_url: str) -> None:
    port = free_port()
    up = UpProcess(service_project / "opsctl.yaml", port, {"DATABASE_URL": database_url})
    try:
        up.wait_for("fixture-service is up")
    finally:
        code = up.interrupt(signal.SIGTERM)
    assert code == 0, "\n".join(up.seen)
    assert up.seen[-1] == "opsctl up: stopped"
    assert _port_closed(port)
