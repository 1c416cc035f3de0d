"""The migrations build exactly the schema of ``reference_api.models.metadata`` and undo it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from tests.reference_api.conftest import alembic_config, migrate

from opsctl.database.throwaway import throwaway_database
from reference_api.database import to_sqlalchemy_url
from reference_api.models import metadata

CATALOG_QUERIES = {
    "tables": """
        SELECT c.relname, obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
        ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
          AND NOT a.attisdropped AND c.relname <> 'alembic_version'
        ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
          AND conrelid::regclass::text <> 'alembic_version'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version' ORDER BY 1, 2""",
    "types": """
        SELECT t.typname, t.typtype FROM pg_type t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)
        ORDER BY 1""",
    "enum_values": """
        SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        ORDER BY 1, e.enumsortorder""",
}


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as connection:
        return {
            name: connection.execute(query).fetchall() for name, query in CATALOG_QUERIES.items()
        }


def test_upgrade_head_builds_exactly_the_models(postgres_server_url: str) -> None:
    with (
        throwaway_database(postgres_server_url) as migrated,
        throwaway_database(postgres_server_url) as created,
    ):
        migrate(migrated)
        engine = sa.create_engine(to_sqlalchemy_url(created), poolclass=sa.NullPool)
        metadata.create_all(engine)
        engine.dispose()
        from_migrations, from_models = snapshot(migrated), snapshot(created)
    assert from_migrations == from_models
    assert len(from_models["tables"]) == 7
    assert all(comment for _, comment in from_models["tables"])


def test_downgrade_base_removes_everything_and_upgrade_again_is_identical(
    database_url: str,
) -> None:
    empty = snapshot(database_url)
    migrate(database_url)
    upgraded = snapshot(database_url)
    engine = sa.create_engine(to_sqlalchemy_url(database_url), poolclass=sa.NullPool)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    engine.dispose()
    assert snapshot(database_url) == empty
    migrate(database_url)
    assert snapshot(database_url) == upgraded


def test_every_foreign_key_has_an_explicit_on_delete_and_an_index() -> None:
    for table in metadata.tables.values():
        indexed_prefixes = {
            tuple(column.name for column in index.columns)[:1] for index in table.indexes
        } | {
            tuple(column.name for column in constraint.columns)[:1]
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint)
        }
        for foreign_key in table.foreign_keys:
            assert foreign_key.ondelete in {"CASCADE", "SET NULL", "RESTRICT"}, foreign_key
            assert (foreign_key.parent.name,) in indexed_prefixes, foreign_key


def test_revision_files_have_readable_names() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    names = [Path(str(revision.path)).name for revision in script.walk_revisions()]
    assert names
    for name in names:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", name), name
