"""The embedded PostgreSQL server: created, started on demand, reused by another process,
used, stopped, and nothing left running."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from tests.opsctl.cli.helpers import invoke, run_opsctl
from tests.opsctl.database.processes import children_of, processes_mentioning

from opsctl.config.project import load_project
from opsctl.database.binaries import OVERRIDE_VARIABLE
from opsctl.database.embedded import EmbeddedServer
from opsctl.database.servers import (
    data_database_name,
    environment_database_url,
    server_admin_url,
)
from opsctl.database.throwaway import throwaway_database
from opsctl.errors import DatabaseError

pytestmark = pytest.mark.slow


def test_embedded_server_life_cycle(service_project: Path) -> None:
    config = str(service_project / "opsctl.yaml")
    data_dir = service_project / ".opsctl" / "postgres"

    assert "not created yet" in invoke(["-c", config, "db", "status"]).stdout

    # started on demand by `db url`, in one process ...
    first = run_opsctl(["-c", config, "db", "url"])
    assert first.returncode == 0, first.stderr
    url = first.stdout.strip()
    assert url.startswith("postgresql://postgres@127.0.0.1:")
    assert url.endswith("/fixture_service")
    server = EmbeddedServer(data_dir)
    status = server.status()
    assert status.running and status.pid is not None
    postmaster = status.pid

    # ... found running and reused by the next process
    again = run_opsctl(["-c", config, "db", "start"])
    assert "already running" in again.stderr
    shown = invoke(["-c", config, "db", "status"])
    assert f"running  pid {postmaster}" in shown.stdout
    assert server.status().pid == postmaster

    # usable: the data database exists and takes writes
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")

    # the project's files are git-ignored by the state folder itself
    assert (service_project / ".opsctl" / ".gitignore").read_text().strip().endswith("*")

    stopped = invoke(["-c", config, "db", "stop"])
    assert stopped.exit_code == 0, stopped.stderr
    assert "embedded PostgreSQL stopped" in stopped.stderr
    assert not server.status().running
    assert processes_mentioning(str(data_dir)) == []
    assert children_of(postmaster) == []

    # data survives a restart; checks get throwaway databases, never the data database
    project = load_project(service_project / "opsctl.yaml", environ={})
    environment = project.config.environments["local"]
    restarted = EmbeddedServer.for_project(project)
    try:
        data_url = environment_database_url(project, environment)  # starts it again
        with psycopg.connect(data_url) as conn:
            assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]
        admin_url = server_admin_url(project, environment)
        assert admin_url.endswith("/postgres")
        with throwaway_database(admin_url) as check_url:
            assert check_url != data_url
            assert data_database_name(project.config.service.name) not in check_url
            with psycopg.connect(check_url) as conn:
                assert conn.execute("SELECT to_regclass('notes')").fetchone() == (None,)
        with psycopg.connect(admin_url) as conn:
            names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
        assert "fixture_service" in names
        assert not [name for name in names if name.startswith("opsctl_tmp_")]
    finally:
        assert restarted.stop()
    assert processes_mentioning(str(data_dir)) == []
    assert invoke(["-c", config, "db", "stop"]).stderr.strip() == (
        "embedded PostgreSQL was not running"
    )


def test_data_database_names() -> None:
    assert data_database_name("reference-api") == "reference_api"
    assert data_database_name("9 Lives!") == "db_9_lives"


SYSTEM_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


@pytest.mark.skipif(not SYSTEM_BINARIES, reason="no PostgreSQL installed under /usr/lib")
def test_runs_on_the_machines_binaries_and_refuses_a_version_mismatch(
    service_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_bin = SYSTEM_BINARIES[-1].parent
    monkeypatch.setenv(OVERRIDE_VARIABLE, str(system_bin))
    server = EmbeddedServer(service_project / ".opsctl" / "postgres")
    try:
        server.ensure_started()
        status = server.status()
        assert status.major == int(system_bin.parent.name)
        with psycopg.connect(server.admin_url) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(str(version[0])) // 10000 == status.major
    finally:
        server.stop()

    assert processes_mentioning(str(server.data_dir)) == []
    monkeypatch.setenv(OVERRIDE_VARIABLE, str(find_binaries_other_than(status.major)))
    with pytest.raises(DatabaseError, match=f"created by PostgreSQL {status.major}"):
        server.ensure_started()


def find_binaries_other_than(major: int | None) -> Path:
    """A binaries folder of another major version (the pgserver wheel's, here)."""
    from opsctl.database.binaries import _major_version, _pgserver_bin_dir

    wheel = _pgserver_bin_dir()
    if wheel is None or _major_version(wheel) in (None, major):
        pytest.skip("no second PostgreSQL version to mismatch with")
    return wheel
