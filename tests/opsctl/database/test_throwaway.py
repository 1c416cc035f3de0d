"""Throwaway databases: always dropped, also after a crash (swept on the next run); never
another machine's; never a database that is not a throwaway one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from psycopg import sql

from opsctl.database.throwaway import (
    PREFIX,
    drop_database,
    new_database_name,
    sweep_stale_databases,
    throwaway_database,
)
from opsctl.errors import DatabaseError


def _databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_dropped_after_an_error(postgres_server_url: str) -> None:
    with pytest.raises(RuntimeError), throwaway_database(postgres_server_url) as url:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE t (x int)")
        raise RuntimeError("check crashed")

    assert name not in _databases(postgres_server_url)


def test_dropped_with_open_sessions(postgres_server_url: str) -> None:
    with throwaway_database(postgres_server_url) as url:
        name = url.rsplit("/", 1)[1]
        lingering = psycopg.connect(url)
    try:
        assert name not in _databases(postgres_server_url)
    finally:
        lingering.close()


CRASHING_CHILD = """
import os, sys, time
from opsctl.database.throwaway import throwaway_database
with throwaway_database(sys.argv[1]) as url:
    print(url.rsplit("/", 1)[1], flush=True)
    time.sleep(60)
"""


def test_swept_after_the_owner_was_killed(postgres_server_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_CHILD, postgres_server_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    name = child.stdout.readline().strip()
    os.kill(child.pid, signal.SIGKILL)  # no finally block runs
    child.wait(timeout=10)
    child.stdout.close()
    assert name in _databases(postgres_server_url)

    dropped = sweep_stale_databases(postgres_server_url)

    assert name in dropped
    assert name not in _databases(postgres_server_url)


def test_sweep_leaves_live_and_foreign_databases(postgres_server_url: str) -> None:
    foreign = f"{PREFIX}000000_1_1_deadbeef"  # another machine's (host tag 000000)
    mine = new_database_name()  # this live process's
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        for name in (foreign, mine):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dropped = sweep_stale_databases(postgres_server_url)
        assert foreign not in dropped
        assert mine not in dropped
        assert {foreign, mine} <= _databases(postgres_server_url)
    finally:
        drop_database(postgres_server_url, foreign)
        drop_database(postgres_server_url, mine)


def test_sigterm_drops_the_database(postgres_server_url: str) -> None:
    program = (
        "import signal, sys, time\n"
        "from opsctl.cli import _terminate\n"
        "signal.signal(signal.SIGTERM, _terminate)\n" + CRASHING_CHILD.split("\n", 1)[1]
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program, postgres_server_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    name = child.stdout.readline().strip()
    child.terminate()
    child.wait(timeout=20)
    child.stdout.close()
    deadline = time.monotonic() + 5
    while name in _databases(postgres_server_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert name not in _databases(postgres_server_url)


def test_refuses_to_drop_a_database_that_is_not_a_throwaway(postgres_server_url: str) -> None:
    with pytest.raises(DatabaseError, match="not a throwaway database"):
        drop_database(postgres_server_url, "postgres")
