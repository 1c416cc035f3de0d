"""The engine against real PostgreSQL, on the fixture service's three tables."""

from __future__ import annotations

import sys
from datetime import date

import psycopg
import pytest
from tests.opsctl.seed.helpers import FIXTURE, FIXTURE_ALEMBIC, FIXTURE_TABLES, counts, dump

from opsctl.errors import ConfigError, DatabaseError, RefusedError
from opsctl.seed.engine import AlreadySeeded, DryRun, Mode, SeedOptions, SeedResult
from opsctl.seed.plan import Rows, Scale, SeedPlan, Table
from opsctl.seed.runner import seed_database
from opsctl.seed.values import Computed, Serial

sys.path.insert(0, str(FIXTURE))
from seed_fixture_plan import plan

ANCHOR = date(2026, 1, 15)


def run(url: str, **options: object) -> SeedResult:
    merged: dict[str, object] = {"anchor": ANCHOR, **options}
    result = seed_database(url, plan, SeedOptions(**merged), alembic_ini=FIXTURE_ALEMBIC)  # type: ignore[arg-type]
    assert isinstance(result, SeedResult)
    return result


def test_small_scale_loads_the_declared_rows_parents_first(fixture_db: str) -> None:
    result = run(fixture_db)
    assert counts(fixture_db) == {"owners": 50, "items": 200, "tags": 120}
    # declared children-first in the plan; the engine loads by foreign keys
    assert [load.name for load in result.tables] == ["owners", "items", "tags"]
    assert len(result.fingerprint) == 64


def test_medium_scale_loads_the_declared_rows(fixture_db: str) -> None:
    run(fixture_db, scale=Scale.MEDIUM)
    assert counts(fixture_db) == {"owners": 2_000, "items": 20_000, "tags": 10_000}


def test_explicit_row_count_is_spread_like_large(fixture_db: str) -> None:
    run(fixture_db, scale=1000)
    assert counts(fixture_db) == {"owners": 100, "items": 600, "tags": 300}


def test_same_seed_same_fingerprint_and_rows_other_seed_differs(fixture_db: str) -> None:
    first = run(fixture_db, seed=7)
    rows = dump(fixture_db)
    again = run(fixture_db, seed=7)
    assert again.fingerprint == first.fingerprint
    assert dump(fixture_db) == rows
    other = run(fixture_db, seed=8)
    assert other.fingerprint != first.fingerprint
    changed = dump(fixture_db)
    assert changed["items"] != rows["items"]
    assert changed["owners"] != rows["owners"]


def test_anchor_date_is_part_of_the_data(fixture_db: str) -> None:
    assert run(fixture_db).fingerprint != run(fixture_db, anchor=date(2026, 1, 16)).fingerprint


def test_replace_keeps_alembic_version_and_moves_sequences(fixture_db: str) -> None:
    run(fixture_db)
    run(fixture_db)  # replace: the second run empties and reloads
    assert counts(fixture_db)["owners"] == 50
    with psycopg.connect(fixture_db) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("r2",)]
        # serial, identity and serial again: the next key follows the seeded ones
        owner = connection.execute(
            "INSERT INTO owners (email, name) VALUES ('new@example.test', 'New') RETURNING id"
        ).fetchone()
        item = connection.execute(
            "INSERT INTO items (owner_id, title, status, score, active, created_at) "
            "VALUES (1, 't', 'todo', 1, true, now()) RETURNING id"
        ).fetchone()
        assert owner == (51,)
        assert item == (201,)


def schema_snapshot(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        constraints = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        ).fetchall()
    return [*indexes, *constraints]


def test_indexes_and_foreign_keys_come_back_identical(fixture_db: str) -> None:
    before = schema_snapshot(fixture_db)
    assert any("ix_items_owner_id" in str(row) for row in before)
    run(fixture_db)
    assert schema_snapshot(fixture_db) == before
    with (
        psycopg.connect(fixture_db) as connection,
        pytest.raises(psycopg.errors.ForeignKeyViolation),
    ):
        connection.execute(
            "INSERT INTO tags (item_id, label, ref) VALUES (999999, 'x', gen_random_uuid())"
        )


def test_analyze_ran_after_the_load(fixture_db: str) -> None:
    run(fixture_db)
    with psycopg.connect(fixture_db) as connection:
        analyzed = connection.execute(
            "SELECT count(*) FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s) AND last_analyze IS NOT NULL",
            (list(FIXTURE_TABLES),),
        ).fetchone()
    assert analyzed == (3,)


def test_dry_run_writes_nothing_and_says_what_replace_would_remove(fixture_db: str) -> None:
    run(fixture_db)
    before = dump(fixture_db)
    planned = seed_database(
        fixture_db, plan, SeedOptions(scale=Scale.MEDIUM, anchor=ANCHOR), dry_run_only=True
    )
    assert isinstance(planned, DryRun)
    assert [(t.name, t.rows, t.existing_rows) for t in planned.tables] == [
        ("owners", 2_000, 50),
        ("items", 20_000, 200),
        ("tags", 10_000, 120),
    ]
    assert all(table.estimated_bytes > table.rows * 10 for table in planned.tables)
    assert dump(fixture_db) == before


def test_append_adds_after_existing_keys(fixture_db: str) -> None:
    run(fixture_db, seed=1)
    run(fixture_db, seed=2, mode=Mode.APPEND, scale=Scale.SMALL)
    assert counts(fixture_db) == {"owners": 100, "items": 400, "tags": 240}


def test_append_with_the_same_seed_is_refused_and_writes_nothing(fixture_db: str) -> None:
    run(fixture_db, seed=1)
    before = dump(fixture_db)
    with pytest.raises(RefusedError, match="duplicate"):
        run(fixture_db, seed=1, mode=Mode.APPEND)
    assert dump(fixture_db) == before


def test_a_failure_midway_rolls_everything_back(fixture_db: str) -> None:
    run(fixture_db)
    before = dump(fixture_db)

    tags = plan.table("tags")
    # the last table breaks a NOT NULL constraint: owners and items were already reloaded
    nulls = Computed(lambda chunk: [None] * len(chunk.rows))
    broken = SeedPlan(
        tables=[*plan.tables[1:], Table("tags", tags.rows, {**tags.columns, "label": nulls})]
    )
    schema_before = schema_snapshot(fixture_db)
    with pytest.raises(DatabaseError, match="nothing was written"):
        seed_database(fixture_db, broken, SeedOptions(anchor=ANCHOR))
    assert dump(fixture_db) == before
    assert schema_snapshot(fixture_db) == schema_before


def test_replace_refuses_when_a_table_outside_the_plan_references_one(fixture_db: str) -> None:
    with psycopg.connect(fixture_db) as connection:
        connection.execute("CREATE TABLE audit (owner_id bigint REFERENCES owners (id))")
    run_error = pytest.raises(ConfigError, match="audit")
    with run_error:
        run(fixture_db)


def test_a_plan_column_the_table_lacks_is_a_config_error(fixture_db: str) -> None:
    wrong = SeedPlan(tables=[Table("owners", Rows(1, 1, 1), {"id": Serial(), "nope": Serial()})])
    with pytest.raises(ConfigError, match="nope"):
        seed_database(fixture_db, wrong, SeedOptions())


def test_database_not_at_head_is_refused(postgres_server_url: str) -> None:
    from tests.opsctl.seed.helpers import migrate

    from opsctl.database.throwaway import throwaway_database

    with throwaway_database(postgres_server_url) as url:
        migrate(FIXTURE_ALEMBIC, url, "r1")
        with pytest.raises(RefusedError, match=r"r1.*head r2") as refused:
            run(url)
        assert "alembic -c alembic.ini upgrade head" in str(refused.value)
        assert counts(url, ("owners", "items")) == {"owners": 0, "items": 0}


def test_a_plan_error_in_the_generator_thread_rolls_back_and_stops_it(fixture_db: str) -> None:
    import threading

    run(fixture_db)
    before, schema_before = dump(fixture_db), schema_snapshot(fixture_db)
    tags = plan.table("tags")
    # made in the generating thread while the main thread loads owners and items
    short = Computed(lambda chunk: ["x"] * (len(chunk.rows) - 1))
    others = [table for table in plan.tables if table.name != "tags"]
    broken = SeedPlan(tables=[*others, Table("tags", tags.rows, {**tags.columns, "label": short})])
    with pytest.raises(ConfigError, match=r"tags\.label: made 119 values for 120 rows"):
        seed_database(fixture_db, broken, SeedOptions(anchor=ANCHOR))
    assert dump(fixture_db) == before
    assert schema_snapshot(fixture_db) == schema_before
    assert not [t for t in threading.enumerate() if t.name == "opsctl-seed-generate"]


def test_only_if_empty_writes_nothing_when_the_plan_tables_hold_rows(fixture_db: str) -> None:
    first = seed_database(fixture_db, plan, SeedOptions(anchor=ANCHOR, only_if_empty=True))
    assert isinstance(first, SeedResult)
    before = dump(fixture_db)

    again = seed_database(fixture_db, plan, SeedOptions(anchor=ANCHOR, seed=9, only_if_empty=True))

    assert isinstance(again, AlreadySeeded)
    assert again.existing == {"owners": 50, "items": 200, "tags": 120}
    assert dump(fixture_db) == before
