"""The catalog snapshot on a real PostgreSQL: what it sees, what it ignores, how it words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from opsctl.database.urls import to_sqlalchemy
from opsctl.gates.migrations.snapshot import ObjectKey, Snapshot, compare, take_snapshot

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SCHEMA app;
CREATE TYPE status AS ENUM ('todo', 'doing', 'done');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE projects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE tasks (
    id serial PRIMARY KEY,
    project_id bigint REFERENCES projects (id) ON DELETE SET NULL ON UPDATE CASCADE,
    title text COLLATE "C" NOT NULL DEFAULT 'untitled',
    title_length integer GENERATED ALWAYS AS (char_length(title)) STORED,
    state status NOT NULL DEFAULT 'todo',
    during tstzrange,
    EXCLUDE USING gist (project_id WITH =, during WITH &&)
);
ALTER TABLE tasks ADD CONSTRAINT ck_title CHECK (title <> '') NOT VALID;
CREATE INDEX ix_open ON tasks (project_id) WHERE state <> 'done';
CREATE INDEX ix_lower ON tasks (lower(title));
CREATE SEQUENCE app.ticket_numbers START 100 INCREMENT 5;
CREATE VIEW open_tasks AS SELECT id FROM tasks WHERE state <> 'done';
CREATE MATERIALIZED VIEW app.counts AS SELECT count(*) AS n FROM tasks;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER trg_touch BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE tasks IS 'Work items.';
COMMENT ON COLUMN tasks.title IS 'Shown in lists.';
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_project ON tasks FOR SELECT USING (project_id IS NOT NULL);
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
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


def described(snapshot: Snapshot) -> dict[str, str]:
    return {key.describe(): value for key, value in snapshot.items()}


def test_snapshot_reads_every_kind_of_object(connection: sa.Connection) -> None:
    objects = described(take_snapshot(connection))

    assert objects["schema app"] == ""
    assert objects["table tasks"] == "row level security"
    assert objects["table projects"] == ""
    assert objects["column id on projects"] == "bigint not null generated always as identity"
    assert objects["column title on tasks"] == "text not null default 'untitled'::text collate C"
    assert objects["column title_length on tasks"] == (
        "integer null generated always as (char_length(title))"
    )
    assert objects["constraint tasks_project_id_fkey on tasks"] == (
        "FOREIGN KEY (project_id) REFERENCES projects(id) ON UPDATE CASCADE ON DELETE SET NULL"
    )
    assert objects["constraint ck_title on tasks"] == "CHECK ((title <> ''::text)) NOT VALID"
    assert objects["constraint tasks_project_id_during_excl on tasks"].startswith("EXCLUDE USING")
    assert objects["constraint positive_check on domain positive"] == "CHECK ((VALUE > 0))"
    assert objects["index ix_open on tasks"] == (
        "CREATE INDEX ix_open ON public.tasks USING btree (project_id) "
        "WHERE (state <> 'done'::status)"
    )
    assert "(lower(title))" in objects["index ix_lower on tasks"]
    assert objects["enum type status"] == "labels 'todo', 'doing', 'done'"
    assert objects["domain positive"] == "integer"
    assert objects["sequence app.ticket_numbers"].startswith("bigint start 100 increment 5")
    assert "tasks_id_seq" in "".join(objects)  # serial's sequence, owned by the column
    assert "projects_id_seq" not in "".join(objects)  # identity: described by its column
    assert "WHERE (tasks.state <> 'done'::status)" in objects["view open_tasks"]
    assert "count(*)" in objects["materialized view app.counts"]
    assert "RETURN NEW" in objects["function touch()"]
    assert objects["trigger trg_touch on tasks"].endswith("EXECUTE FUNCTION touch()")
    assert objects["extension btree_gist"].startswith("version ")
    assert objects["comment on table public.tasks"] == "Work items."
    assert objects["comment on table column public.tasks.title"] == "Shown in lists."
    assert objects["policy own_project on tasks"] == (
        "permissive for select to public using ((project_id IS NOT NULL))"
    )
    assert "column version_num on alembic_version" in objects
    # objects of the extension are not the project's
    assert not any(name.startswith("function gbt_") for name in objects)


def test_data_and_sequence_positions_are_not_part_of_the_schema(
    connection: sa.Connection,
) -> None:
    before = take_snapshot(connection)
    connection.exec_driver_sql(
        "INSERT INTO alembic_version VALUES ('abc'); SELECT nextval('app.ticket_numbers');"
        "INSERT INTO projects (name) VALUES ('p')"
    )
    connection.commit()

    assert compare(before, take_snapshot(connection)) == []


def test_differences_name_the_object(connection: sa.Connection) -> None:
    before = take_snapshot(connection)
    connection.exec_driver_sql(
        "ALTER TYPE status ADD VALUE 'blocked' BEFORE 'done';"
        "ALTER TABLE tasks VALIDATE CONSTRAINT ck_title;"
        "DROP INDEX ix_lower; CREATE TABLE extra (id int)"
    )
    connection.commit()

    differences = {d.key: (d.before, d.after) for d in compare(before, take_snapshot(connection))}

    assert differences[ObjectKey("enum type", "status")] == (
        "labels 'todo', 'doing', 'done'",
        "labels 'todo', 'doing', 'blocked', 'done'",
    )
    assert differences[ObjectKey("constraint", "ck_title", "tasks")][1] == (
        "CHECK ((title <> ''::text))"
    )
    assert differences[ObjectKey("index", "ix_lower", "tasks")][1] is None
    assert differences[ObjectKey("table", "extra")][0] is None
    # the new table's columns are implied by the table: reported once
    assert ObjectKey("column", "id", "extra") not in differences
