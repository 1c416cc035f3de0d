"""Throwaway databases: created for one check on an environment's server, always dropped.

A check never runs against the database that holds an environment's data. It gets its own
database, created from ``template0`` and dropped when the check ends, also on error or Ctrl-C
(and on SIGTERM: the CLI turns it into a normal exit so ``finally`` blocks run).

The name says who owns it: ``opsctl_tmp_<host>_<pid>_<start>_<random>``, where ``host`` is a
short hash of this machine's name and ``start`` the owning process's start time. Databases left
by a crashed run (that process is gone) are swept by :func:`sweep_stale_databases` on the next
run; databases of other machines sharing the server are never touched, and a recycled pid is
told apart from its original owner by the start time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from opsctl.database.urls import with_database
from opsctl.errors import DatabaseError

PREFIX = "opsctl_tmp_"
_NAME = re.compile(rf"^{PREFIX}(?P<host>[0-9a-f]{{6}})_(?P<pid>\d+)_(?P<start>\d+)_[0-9a-f]+$")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of stat; fields[0] is field 3


def new_database_name() -> str:
    """A fresh throwaway database name owned by this process."""
    pid = os.getpid()
    return f"{PREFIX}{_host_tag()}_{pid}_{_process_start(pid) or 0}_{secrets.token_hex(4)}"


def _connect_admin(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(server_url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise DatabaseError(f"cannot connect to PostgreSQL: {error}".strip()) from None


@contextlib.contextmanager
def throwaway_database(server_url: str, *, template: str | None = None) -> Iterator[str]:
    """Create an empty database on the server of ``server_url``; yield its URL; drop it after.

    ``template`` names a database to copy instead of ``template0`` (it must have no sessions).
    """
    name = new_database_name()
    with _connect_admin(server_url) as admin:
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template or "template0")
                )
            )
        except psycopg.Error as error:
            raise DatabaseError(f"cannot create a throwaway database: {error}".strip()) from None
    try:
        yield with_database(server_url, name)
    finally:
        try:
            drop_database(server_url, name)
        except DatabaseError:
            # the server went away: the next run's sweep drops it. Do not hide the error that
            # is already on its way out (if any); otherwise report the failed drop.
            if sys.exc_info()[0] is None:
                raise


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, ending its sessions first (PostgreSQL 13+ ``WITH (FORCE)``)."""
    if not name.startswith(PREFIX):
        raise DatabaseError(f"refusing to drop {name}: not a throwaway database")
    with _connect_admin(server_url) as admin:
        try:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        except psycopg.Error as error:
            raise DatabaseError(f"cannot drop throwaway database {name}: {error}") from None


def sweep_stale_databases(server_url: str) -> list[str]:
    """Drop this machine's throwaway databases whose creating process no longer runs."""
    with _connect_admin(server_url) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
        ).fetchall()
    dropped: list[str] = []
    host = _host_tag()
    for (value,) in rows:
        name = str(value)
        match = _NAME.match(name)
        if match is None or match["host"] != host:
            continue  # another machine's (or an unknown) database: not ours to judge
        start = _process_start(int(match["pid"]))
        if start is None or (int(match["start"]) and start != int(match["start"])):
            with contextlib.suppress(DatabaseError):
                drop_database(server_url, name)
                dropped.append(name)
    return dropped
