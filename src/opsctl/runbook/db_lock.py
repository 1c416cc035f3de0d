"""One run per runbook and environment across machines: a PostgreSQL session advisory lock.

The lock file (:mod:`.lock`) lives in one checkout, so two engineers on two laptops would
both get it. When the environment has a database, the run also takes
``pg_try_advisory_lock(key)`` (``key`` from service, runbook and environment) on a dedicated
connection held open for the whole run. PostgreSQL releases it when that connection ends, also
when the process is killed (``kill -9``, a crashed laptop once TCP notices).

The connection's ``application_name`` says who holds the lock
(``opsctl runbook <user>@<host> <run id>``, cut at PostgreSQL's 63 bytes), so a refused run
names the holder from ``pg_locks`` joined with ``pg_stat_activity``.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from opsctl.errors import DatabaseError, RefusedError

APP_NAME_BYTES = 63  # PostgreSQL truncates application_name to NAMEDATALEN - 1
CONNECT_TIMEOUT = 5
# the server ends a dead holder's session on its own; how long a takeover waits for that
DEAD_HOLDER_WAIT = 10.0

_HOLDER = """
SELECT a.pid, a.application_name, a.usename, a.client_addr::text AS client_addr,
       a.backend_start
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def lock_key(service: str, runbook: str, env: str) -> int:
    """A signed 64-bit advisory lock key, the same on every machine."""
    digest = hashlib.sha256(f"opsctl runbook\0{service}\0{runbook}\0{env}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def application_name(run_id: str, owner: dict[str, Any]) -> str:
    """As PostgreSQL will show it: printable ASCII only (it turns the rest into ``?``)."""
    name = f"opsctl runbook {owner.get('user')}@{owner.get('host')} {run_id}"
    return "".join(c if " " <= c <= "~" else "?" for c in name)[:APP_NAME_BYTES]


class DatabaseLock:
    """The advisory lock of one runbook on one environment's database."""

    def __init__(self, database_url: str, *, service: str, runbook: str, env: str) -> None:
        self.database_url = database_url
        self.runbook, self.env = runbook, env
        self.key = lock_key(service, runbook, env)
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def acquire(self, run_id: str, owner: dict[str, Any], *, wait: float = 0.0) -> None:
        """Take the lock or raise :class:`RefusedError` naming the holder.

        ``wait``: keep trying that long (a takeover from a dead process on this host: its
        database session may not have ended yet). A database that cannot be reached raises
        :class:`DatabaseError`.
        """
        try:
            conn = psycopg.connect(
                self.database_url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name=application_name(run_id, owner),
            )
        except psycopg.Error as error:
            raise DatabaseError(f"cannot reach the environment's database: {error}") from None
        deadline = time.monotonic() + wait
        try:
            _keep_session(conn)
            while True:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
                if row and row[0]:
                    self._conn = conn
                    return
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.2)
            holder = self._holder(conn)
        except psycopg.Error as error:
            conn.close()
            raise DatabaseError(f"cannot take the database lock: {error}") from None
        conn.close()
        raise RefusedError(
            f"runbook {self.runbook} on {self.env} is already running: {describe(holder)}",
            hint="wait for that run to finish (the lock is held in the environment's database"
            " and ends with that run's database session)",
        )

    def _holder(self, conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        with conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(_HOLDER, {"high": high, "low": low})
            return cursor.fetchone()

    def release(self) -> None:
        """Unlock and close the connection (closing alone would release it as well)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error:
            pass  # the session is gone: so is its lock
        finally:
            conn.close()


def _keep_session(conn: psycopg.Connection[Any]) -> None:
    """The lock lives as long as this session: the server must neither end it while the run
    is idle nor keep it for hours after a laptop vanished (TCP keepalive, in seconds)."""
    settings = {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10"}
    settings["tcp_keepalives_count"] = "6"
    if conn.info.server_version >= 140000:
        settings["idle_session_timeout"] = "0"
    settings["idle_in_transaction_session_timeout"] = "0"
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))


def describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "held in the environment's database by a session that just ended or is hidden"
    name = str(holder.get("application_name") or "")
    who = name.removeprefix("opsctl runbook ") if name.startswith("opsctl runbook ") else None
    since = holder.get("backend_start")
    since_text = since.isoformat(timespec="seconds") if isinstance(since, datetime) else since
    where = f" from {holder['client_addr']}" if holder.get("client_addr") else ""
    session = (
        f"database session {holder.get('pid')} of role {holder.get('usename')}{where},"
        f" since {since_text}"
    )
    if who:
        user_host, _, run_id = who.partition(" ")
        return f"held by {user_host} (run {run_id or '?'}; {session})"
    return f"held by {name or 'an unnamed session'} ({session})"
