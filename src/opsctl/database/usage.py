"""Whether a database was used: the evidence that a service talked to the database it was given.

A gate that hands a service a throwaway database cannot see inside the service; what it can see
is the server's own statistics for that database: ``pg_stat_database.sessions`` (PostgreSQL 14 and
later) counts the sessions ever established to it, this function's own included.
"""

from __future__ import annotations

import psycopg

from opsctl.database.urls import to_libpq
from opsctl.errors import DatabaseError


def database_activity(database_url: str) -> int:
    """Sessions the server counted for ``database_url``'s database, this call's own included.

    Take it once before the service runs and once after: a difference above 1 (this call's own
    session) means something else connected to the database in between.
    """
    try:
        with psycopg.connect(to_libpq(database_url), autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
    except psycopg.Error as error:
        raise DatabaseError(f"could not read the database's statistics: {error}") from error
    return int(row[0]) if row and row[0] is not None else 0
