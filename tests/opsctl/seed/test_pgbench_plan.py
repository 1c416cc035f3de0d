"""The like-for-like plan: the engine makes exactly the tables and rows of ``pgbench -i``."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

from opsctl.database.throwaway import throwaway_database
from opsctl.seed.engine import SeedOptions, SeedResult
from opsctl.seed.pgbench_plan import DDL, pgbench_plan
from opsctl.seed.plan import Scale
from opsctl.seed.runner import seed_database

TABLES = ("pgbench_branches", "pgbench_tellers", "pgbench_accounts", "pgbench_history")
KEYS = {"pgbench_branches": "bid", "pgbench_tellers": "tid", "pgbench_accounts": "aid"}
PGBENCH = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"

# SHA-256 of the engine's COPY streams for `pgbench -i -s 1`'s rows: a change to the value
# makers, the encoders or the stream layout shows here (change it only deliberately)
FINGERPRINT_SCALE_1 = "a358be02bc15369a632714814980cc62160c3587e81ae7c33365444c76454479"

_CATALOG_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(array_to_string(c.reloptions, ','), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname LIKE 'pgbench%%' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_KEYS_SQL = """
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid::regclass::text LIKE 'pgbench%%' ORDER BY 1, 2
"""


def seed_pgbench_rows(url: str, scale: int) -> SeedResult:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(DDL)
    result = seed_database(url, pgbench_plan(scale), SeedOptions(scale=Scale.LARGE))
    assert isinstance(result, SeedResult)
    return result


def describe(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with psycopg.connect(url) as connection:
        return (
            connection.execute(_CATALOG_SQL).fetchall(),
            connection.execute(_KEYS_SQL).fetchall(),
        )


def contents(url: str) -> dict[str, tuple[object, ...]]:
    """Per table: row count, NULL fillers, and an MD5 of every row's text in key order."""
    found: dict[str, tuple[object, ...]] = {}
    with psycopg.connect(url) as connection:
        for table in TABLES:
            order = KEYS.get(table, "tid, bid, aid, mtime")
            row = connection.execute(
                f"SELECT count(*), count(*) - count(filler), "
                f"md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) FROM {table} t"
            ).fetchone()
            assert row is not None
            found[table] = tuple(row)
    return found


def test_row_counts_are_those_of_pgbench_at_every_named_scale() -> None:
    plan = pgbench_plan(3)
    expected = {
        "pgbench_branches": 3,
        "pgbench_tellers": 30,
        "pgbench_accounts": 300_000,
        "pgbench_history": 0,
    }
    for scale in Scale:
        assert plan.row_counts(scale) == expected
    with pytest.raises(ValueError, match="at least 1"):
        pgbench_plan(0)


def test_the_engine_loads_pgbench_rows_into_pgbench_tables(database_url: str) -> None:
    result = seed_pgbench_rows(database_url, 1)
    assert [load.name for load in result.tables] == list(TABLES)
    assert result.rows == 100_011
    assert result.fingerprint == FINGERPRINT_SCALE_1
    found = contents(database_url)
    # branches and tellers: filler NULL; accounts: 84 blanks; history empty
    assert [found[table][:2] for table in TABLES] == [(1, 1), (10, 10), (100_000, 0), (0, 0)]
    with psycopg.connect(database_url) as connection:
        edges = connection.execute(
            "SELECT min(bid), max(bid), min(filler), octet_length(min(filler)) "
            "FROM pgbench_accounts"
        ).fetchone()
    assert edges == (1, 1, " " * 84, 84)
    # the primary keys were dropped for the load and rebuilt
    assert [name for _table, name, _definition in describe(database_url)[1]] == [
        "pgbench_accounts_pkey",
        "pgbench_branches_pkey",
        "pgbench_tellers_pkey",
    ]
    assert seed_pgbench_rows(database_url, 1).fingerprint == result.fingerprint


@pytest.mark.skipif(not shutil.which(PGBENCH), reason="pgbench is not installed")
def test_same_schema_and_same_rows_as_pgbench_itself(
    database_url: str, postgres_server_url: str
) -> None:
    seed_pgbench_rows(database_url, 2)
    with throwaway_database(postgres_server_url) as pgbench_url:
        subprocess.run(
            [PGBENCH, "-i", "-q", "-s", "2", pgbench_url],
            capture_output=True,
            check=True,
            timeout=120,
        )
        assert describe(database_url) == describe(pgbench_url)
        assert contents(database_url) == contents(pgbench_url)
