"""Seeding and reading rows for the data-survival check, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from opsctl.database.urls import to_sqlalchemy
from opsctl.gates.migrations.data import lost, read_rows, seed

SCHEMA = """
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE);
CREATE TABLE groups (id serial PRIMARY KEY, name varchar(40) NOT NULL);
CREATE TABLE members (
    user_id uuid NOT NULL REFERENCES users (id),
    group_id integer NOT NULL REFERENCES groups (id),
    mood mood NOT NULL,
    since timestamptz NOT NULL,
    active boolean NOT NULL,
    score numeric(6, 2) NOT NULL,
    settings jsonb NOT NULL,
    note text,
    UNIQUE (user_id, group_id)
);
"""


@pytest.fixture
def connection(database_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(to_sqlalchemy(database_url), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(SCHEMA)
            connection.commit()
            yield connection
    finally:
        engine.dispose()


def count(connection: sa.Connection, table: str) -> int:
    value = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
    connection.rollback()
    return int(value or 0)


def test_seed_fills_every_kind_of_column_and_link_tables(connection: sa.Connection) -> None:
    assert seed(connection, "users", 6) is None
    assert seed(connection, "groups", 4) is None
    assert seed(connection, "members", 12) is None  # 12 distinct (user, group) pairs
    assert seed(connection, "members", 12) is None  # already full: tops up, adds nothing

    assert (count(connection, "users"), count(connection, "members")) == (6, 12)
    assert seed(connection, "missing_table", 5) is None


def test_seed_reports_what_it_cannot_do(connection: sa.Connection) -> None:
    problem = seed(connection, "members", 3)  # no users or groups to point at

    assert problem is not None
    assert problem.startswith('cannot seed members: null value in column "user_id"')


def test_lost_rows_and_columns_are_described(connection: sa.Connection) -> None:
    seed(connection, "groups", 5)
    before = read_rows(connection, "groups")
    assert before is not None and len(before.rows) == 5

    assert lost(before, read_rows(connection, "groups")) is None
    connection.exec_driver_sql("DELETE FROM groups WHERE id = 1; ALTER TABLE groups DROP name")
    connection.commit()

    assert lost(before, read_rows(connection, "groups")) == (
        "column(s) name and their values are gone; 1 of 5 seeded rows are gone or changed"
    )
    assert lost(before, None) == "the table and its 5 seeded rows are gone"
